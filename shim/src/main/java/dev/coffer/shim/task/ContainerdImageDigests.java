package dev.coffer.shim.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.manifest.Descriptor;
import dev.coffer.oci.manifest.ImageIndex;
import dev.coffer.oci.manifest.ManifestDocument;
import dev.coffer.oci.manifest.MediaTypes;
import dev.coffer.oci.manifest.Platform;
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
 *
 * <p>Most registry images are multi-platform: containerd's image record then names an image
 * index (or Docker manifest list), often the very digest the user pinned. The index's bytes are
 * read from containerd's content store and must hash to that digest (the store is the host's,
 * and the host is not trusted); its linux/amd64 entry, picked as containerd picks it, is the
 * manifest Coffer's image must be. So an index pins its platform manifest exactly as a manifest
 * digest does, and an image Coffer holds for another platform, or a manifest the index does not
 * list, is refused.
 */
public final class ContainerdImageDigests implements ImageDigests {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long BOUND_S = 30;
    /** An index is a small JSON document; a bigger one is not an index but an attempt to exhaust the shim. */
    private static final int MAX_INDEX = 4 * 1024 * 1024;

    private final String address;
    private final String namespace;

    public ContainerdImageDigests(String address, String namespace) {
        this.address = address;
        this.namespace = namespace;
    }

    @Override
    public Resolved manifestDigest(String containerId) throws TtrpcException {
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
            if (MediaTypes.MANIFESTS.contains(f[1])) return new Resolved(f[2], "image " + image + " to manifest " + f[2]);
            if (MediaTypes.INDEXES.contains(f[1])) return platformManifest(image, f[2]);
            throw new TtrpcException(Code.FAILED_PRECONDITION, "expected containerd's image " + image + " to be an image"
                    + " manifest or index, found a " + f[1] + " (" + f[2] + "); Coffer runs OCI and Docker v2 images");
        }
        throw new TtrpcException(Code.FAILED_PRECONDITION, "expected containerd to hold image " + image + " of container "
                + containerId + ", found no such image in namespace " + namespace);
    }

    /** The linux/amd64 manifest of the index {@code indexDigest}, whose bytes must hash to that digest. */
    private Resolved platformManifest(String image, String indexDigest) throws TtrpcException {
        Digest expected;
        try {
            expected = Digest.parse(indexDigest);
        } catch (IllegalArgumentException e) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, "expected containerd's image " + image + " to name its index"
                    + " by a digest, found '" + indexDigest + "': " + e.getMessage());
        }
        byte[] bytes = ctrBytes(MAX_INDEX, "content", "get", indexDigest);
        if (bytes.length > MAX_INDEX) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, "expected image index " + indexDigest + " of " + image
                    + " to be at most " + MAX_INDEX + " bytes, found more in containerd's content store; refused");
        }
        Digest found = Digest.sha256(bytes);
        if (!found.equals(expected)) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, "expected containerd's copy of image index " + indexDigest
                    + " of " + image + " to hash to that digest, found " + found + " (" + bytes.length + " bytes): the"
                    + " content store was altered; remove the image from containerd and pull it again");
        }
        String what = "image index " + indexDigest + " of " + image;
        try {
            if (!(ManifestDocument.parse(bytes, null, what) instanceof ImageIndex index)) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected " + what + " to be an index, as containerd's"
                        + " image record says, found a manifest; the image record is inconsistent, pull the image again");
            }
            Descriptor pick = index.select(Platform.LINUX_AMD64, what);
            if (!MediaTypes.MANIFESTS.contains(pick.mediaType())) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected the " + Platform.LINUX_AMD64 + " entry of "
                        + what + " to be an image manifest, found a '" + pick.mediaType() + "' (" + pick.digest()
                        + "); nested indexes are not run");
            }
            return new Resolved(pick.digest().toString(), "image " + image + " to index " + indexDigest + ", whose "
                    + pick.platform() + " entry is manifest " + pick.digest());
        } catch (OciException e) {
            throw new TtrpcException(Code.FAILED_PRECONDITION, e.getMessage());
        }
    }

    private String ctr(String... args) throws TtrpcException {
        return new String(ctrBytes(Integer.MAX_VALUE - 16, args), StandardCharsets.UTF_8);
    }

    /** {@code ctr}'s standard output, at most {@code limit} + 1 bytes (more tells the caller it was too long). */
    private byte[] ctrBytes(int limit, String... args) throws TtrpcException {
        List<String> cmd = new ArrayList<>(List.of("ctr", "-a", address, "-n", namespace));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readNBytes(limit + 1);
            if (out.length > limit) p.destroyForcibly(); // the rest is not read: ctr must not block on a full pipe
            if (!p.waitFor(BOUND_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new TtrpcException(Code.DEADLINE_EXCEEDED, String.join(" ", cmd) + " did not answer within " + BOUND_S + " s");
            }
            if (out.length <= limit && p.exitValue() != 0) {
                throw new TtrpcException(Code.FAILED_PRECONDITION, "expected `" + String.join(" ", cmd) + "` to succeed (to"
                        + " learn the image's digest), it exited with " + p.exitValue());
            }
            return out;
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
