package dev.coffer.shim.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.shim.ttrpc.Code;
import dev.coffer.shim.ttrpc.TtrpcException;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The manifest digest containerd resolved for a container, asked of containerd itself (the
 * socket it started the shim with) through its {@code ctr} client: the container record names
 * the image, and containerd's image record holds the digest of the manifest the CRI plugin
 * unpacked the container's rootfs from. A registry or host that swaps the image under the name
 * after the policy was written changes this digest, which Coffer's image must then match.
 */
public final class ContainerdImageDigests implements ImageDigests {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long BOUND_S = 30;
    private static final String MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    private static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

    private final String address;
    private final String namespace;

    public ContainerdImageDigests(String address, String namespace) {
        this.address = address;
        this.namespace = namespace;
    }

    @Override
    public String manifestDigest(String containerId) throws TtrpcException {
        JsonNode container = json(ctr("containers", "info", containerId), "containers info " + containerId);
        String image = container.path("Image").asText("");
        if (image.isEmpty()) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, "expected containerd's record of container " + containerId
                    + " to name its image, found none; the image cannot be checked by digest");
        }
        // ctr images ls prints: REF TYPE DIGEST SIZE PLATFORMS LABELS
        String listing = ctr("images", "ls", "name==" + image);
        for (String line : listing.lines().skip(1).toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 3 || !f[0].equals(image)) continue;
            if (!f[1].equals(MANIFEST) && !f[1].equals(DOCKER_MANIFEST)) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected containerd's image " + image + " to be a"
                        + " single-platform manifest, found a " + f[1] + " (" + f[2] + "); import the platform's"
                        + " manifest, as Coffer's store holds it");
            }
            return f[2];
        }
        throw new TtrpcException(Code.FAILED_PRECONDITION, "expected containerd to hold image " + image + " of container "
                + containerId + ", found no such image in namespace " + namespace);
    }

    private String ctr(String... args) throws TtrpcException {
        List<String> cmd = new ArrayList<>(List.of("ctr", "-a", address, "-n", namespace));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(BOUND_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new TtrpcException(Code.DEADLINE_EXCEEDED, String.join(" ", cmd) + " did not answer within " + BOUND_S + " s");
            }
            if (p.exitValue() != 0) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected `" + String.join(" ", cmd) + "` to succeed (to"
                        + " learn the image's digest), it exited with " + p.exitValue());
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, "cannot ask containerd for the image's digest (`ctr` on the"
                    + " shim's PATH, as Debian's containerd package installs it): " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TtrpcException(Code.CANCELLED, "interrupted while asking containerd for the image's digest");
        }
    }

    private static JsonNode json(String text, String what) throws TtrpcException {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, "expected JSON from ctr " + what + ", found: " + e.getMessage());
        }
    }
}
