package dev.coffer.runtime.group;

import dev.coffer.agent.skr.SecureKeyRelease;
import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.oci.store.ImageNotFoundException;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.runtime.policy.GroupPolicies;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;
import dev.coffer.runtime.sandbox.SandboxBackend;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The first step of a group's life: everything a launch needs, resolved and checked before any
 * state is touched, so a bad image reference, volume or policy file changes nothing. The images of
 * the containers, their layers as dm-verity disks (built into the layer cache if missing), the
 * disks of images whose containers join later, the SKR port, the encrypted volumes with their
 * endpoints, the volume disks and the policy text.
 *
 * @param disks         the containers' layer disks by diffID hex, in first-use order
 * @param joinableDisks the layer disks of images whose containers join later (a pod's), attached at launch
 * @param skrPort       the SKR API's port, or null for none
 * @param policyText    the policy the agent enforces, or null for allow-all
 * @param prepareMs     how long this step took (the startup report's "prepare")
 */
record PreparedGroup(GroupSpec spec, RunOptions options, SandboxBackend backend, Map<String, LocalImage> images,
                     Map<String, LayerDisk> disks, Map<String, LayerDisk> joinableDisks, Integer skrPort,
                     List<EncryptedMount> encrypted, List<SandboxBackend.VolumeDisk> volumeDisks, String policyText,
                     long prepareMs) {

    /** An encrypted volume as the agent is asked to open it: the spec's values, endpoints defaulted to {@code --vault}. */
    record EncryptedMount(String name, String source, String key, String authority, String vault, boolean readOnly,
                          String headerDigest, String integrity) {}

    /**
     * Prepares {@code spec} for a launch from the Coffer home {@code home}.
     *
     * @param joinableImages images whose containers join the group later (a Kubernetes pod's), whose
     *                       layer disks the sandbox is launched with
     */
    static PreparedGroup of(Path home, GroupSpec spec, RunOptions options, List<String> joinableImages) throws IOException {
        long t0 = System.nanoTime();
        SandboxBackend backend;
        try {
            backend = SandboxBackends.byName(options.isolation());
        } catch (IllegalArgumentException e) {
            throw new GroupException(e.getMessage());
        }
        Map<String, LocalImage> images = new LinkedHashMap<>();
        Map<String, LayerDisk> disks = new LinkedHashMap<>();
        Map<String, LayerDisk> joinableDisks = new LinkedHashMap<>();
        try (ImageStore store = ImageStore.open(home)) {
            for (int i = 0; i < spec.containers().size(); i++) {
                GroupSpec.ContainerSpec c = spec.containers().get(i);
                try {
                    images.put(c.name(), store.resolve(c.image()));
                } catch (ImageNotFoundException e) {
                    throw new GroupException("containers[" + i + "] (" + c.name() + "): " + e.getMessage(), e);
                }
            }
            LayerDiskCache cache = new LayerDiskCache(home.resolve("layers"));
            for (String ref : joinableImages) {
                LocalImage image;
                try {
                    image = store.resolve(ref);
                } catch (ImageNotFoundException e) {
                    throw new GroupException("image " + ref + " to attach for containers joining later: " + e.getMessage(), e);
                }
                // attached at launch, mounted when a container of the image joins
                for (LayerBlob layer : image.layers()) {
                    joinableDisks.putIfAbsent(layer.diffId().hex(), cache.getOrBuild("sha256:" + layer.diffId().hex(),
                            () -> store.openLayer(layer)));
                }
            }
            for (LocalImage image : images.values()) {
                for (LayerBlob layer : image.layers()) {
                    if (!disks.containsKey(layer.diffId().hex())) {
                        try {
                            disks.put(layer.diffId().hex(), cache.getOrBuild("sha256:" + layer.diffId().hex(),
                                    () -> store.openLayer(layer)));
                        } catch (IOException e) {
                            throw new GroupException("layer " + layer.diffId() + " cannot be turned into a layer disk: "
                                    + e.getMessage() + "; remove the image and import or pull it again", e);
                        }
                    }
                }
            }
        }
        Integer skrPort = skrPort(spec, options);
        List<EncryptedMount> encrypted = encryptedMounts(spec, options);
        Path specDir = options.specFile() == null ? Path.of("").toAbsolutePath()
                : Path.of(options.specFile()).toAbsolutePath().getParent();
        List<SandboxBackend.VolumeDisk> volumeDisks = VolumeSources.resolve(spec, specDir, home);
        String policyText = policyText(spec, options, images, disks);
        return new PreparedGroup(spec, options, backend, images, disks, joinableDisks, skrPort, encrypted, volumeDisks,
                policyText, (System.nanoTime() - t0) / 1_000_000);
    }

    /** Every layer disk the sandbox is launched with: the containers' own, then the joinable images' not among them. */
    List<LayerDisk> attachedDisks() {
        Map<String, LayerDisk> all = new LinkedHashMap<>(disks);
        joinableDisks.forEach(all::putIfAbsent);
        return List.copyOf(all.values());
    }

    /**
     * The origins the group may reach: the spec's {@code skr.endpoints} and each encrypted volume's
     * attestation service and vault (in a microVM, the only destinations its network has).
     */
    List<String> endpoints() {
        LinkedHashSet<String> out = new LinkedHashSet<>(spec.skr().endpoints());
        for (EncryptedMount v : encrypted) {
            // the agent's allow-list form, so both sides compare the same strings
            out.add(SecureKeyRelease.endpointOrigin(v.authority()));
            out.add(SecureKeyRelease.endpointOrigin(v.vault()));
        }
        return List.copyOf(out);
    }

    /** The containers' declared TCP ports, each once. */
    List<Integer> tcpPorts() {
        return spec.containers().stream().flatMap(c -> c.ports().stream())
                .filter(p -> p.protocol().equals("TCP")).map(GroupSpec.Port::containerPort).distinct().toList();
    }

    /**
     * The SKR API's port for this run, or null for none. The API is opt-in: served only to groups
     * with a TEE whose spec has an {@code skr} section ({@code skr: {}} means port 8080), because
     * it takes a port in the group's network that the containers might want themselves (web
     * servers on 8080 are common). A spec that enables it without a TEE is refused, since the API
     * can release nothing without evidence.
     */
    private static Integer skrPort(GroupSpec spec, RunOptions options) throws GroupException {
        GroupSpec.Skr skr = spec.skr();
        if (!skr.declared() || !skr.enabled()) return null;
        if (!options.isolation().equals(ProcessSandboxBackend.NAME) && skr.endpoints().isEmpty()) {
            throw new GroupException("expected skr.endpoints in the spec of group " + spec.name() + " with --isolation "
                    + options.isolation() + ", found none; a microVM's network reaches only the attestation services and key"
                    + " vaults listed there, e.g. skr: {port: " + skr.port() + ", endpoints: [http://127.0.0.1:8400]}");
        }
        if (options.tee().equals(RunOptions.TEE_NONE)) {
            throw new GroupException("expected --tee sim for group " + spec.name() + ", whose spec enables the SKR API (skr:"
                    + " port " + skr.port() + "), found --tee none; keys are released only to attested groups,"
                    + " so run it with --tee sim or set skr: {enabled: false}");
        }
        return skr.port();
    }

    /**
     * The spec's encrypted volumes with their endpoints, checked before anything starts: a volume
     * needs an attestation service and a vault (from the spec, or the runtime's {@code --vault})
     * and a TEE to be released a key against.
     */
    private static List<EncryptedMount> encryptedMounts(GroupSpec spec, RunOptions options) throws GroupException {
        List<EncryptedMount> out = new ArrayList<>();
        for (GroupSpec.VolumeSpec v : spec.volumes()) {
            GroupSpec.Encrypted e = v.encrypted();
            if (e == null) continue;
            String authority = e.authority().isEmpty() ? options.vault() : e.authority();
            String vault = e.vault().isEmpty() ? options.vault() : e.vault();
            if (authority.isEmpty() || vault.isEmpty()) {
                throw new GroupException("encrypted volume " + v.name() + ": expected an attestation service and key vault URL,"
                        + " found none in the spec (authority:, vault:) and no --vault; add them to the spec or run with --vault URL");
            }
            if (options.tee().equals(RunOptions.TEE_NONE)) {
                throw new GroupException("encrypted volume " + v.name() + ": expected --tee sim, found --tee none; its key is"
                        + " released only to an attested group, so run the group with --tee sim");
            }
            out.add(new EncryptedMount(v.name(), e.source(), e.key(), authority, vault, e.readOnly(), e.headerDigest(), e.integrity()));
        }
        return out;
    }

    /** The policy text the agent gets, or null for allow-all. */
    private static String policyText(GroupSpec spec, RunOptions options, Map<String, LocalImage> images,
                                     Map<String, LayerDisk> disks) throws IOException {
        return switch (options.policy()) {
            case RunOptions.ALLOW_ALL -> null;
            case RunOptions.GENERATE -> {
                try {
                    yield GroupPolicies.generate(spec, images, disks, false).text();
                } catch (IllegalArgumentException e) {
                    throw new GroupException("cannot generate the policy of group " + spec.name() + ": " + e.getMessage(), e);
                }
            }
            default -> {
                Path file = Path.of(options.policy());
                if (!Files.isRegularFile(file)) {
                    throw new GroupException("expected a policy file at " + file + " (from `coffer policy gen`), found "
                            + (Files.exists(file) ? "something else" : "nothing"));
                }
                yield Files.readString(file, StandardCharsets.UTF_8);
            }
        };
    }
}
