package dev.coffer.runtime.policy;

import dev.coffer.layer.LayerDisk;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.ImageSource;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.ContainerPolicyInput;
import dev.coffer.policy.model.EnvVarInput;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.model.MountInput;
import dev.coffer.policy.model.SecurityInput;
import dev.coffer.runtime.spec.GroupSpec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The one adapter between the runtime's group spec and the policy module's model: maps
 * {@link GroupSpec} onto {@link GroupPolicyInput} and generates the group's policy from the
 * images and layer disks the runtime already resolved, so each layer is hashed once (its disk's
 * root hash is the hash the policy pins).
 *
 * <p>The two spec models are duplicates; DESIGN.md §3 gives the group spec to {@code policy}.
 * Until they are merged, every difference between them is settled here and nowhere else.
 */
public final class GroupPolicies {
    /** What the runtime adds to a container's env when neither the image nor the spec sets PATH. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private GroupPolicies() {}

    /**
     * The policy input for {@code spec}. {@code images} (by container name) is needed for the one
     * thing the runtime adds on its own, a default PATH, which the policy must then allow too.
     */
    public static GroupPolicyInput input(GroupSpec spec, Map<String, ImageConfig> images) {
        List<ContainerPolicyInput> containers = new ArrayList<>();
        for (GroupSpec.ContainerSpec c : spec.containers()) {
            List<EnvVarInput> env = new ArrayList<>();
            ImageConfig image = images.get(c.name());
            boolean imageHasPath = image != null && image.env().stream().anyMatch(e -> e.startsWith("PATH="));
            boolean specHasPath = c.env().stream().anyMatch(e -> e.name().equals("PATH"));
            if (!imageHasPath && !specHasPath) {
                env.add(EnvVarInput.exact("PATH", DEFAULT_PATH));
            }
            for (GroupSpec.EnvVar e : c.env()) {
                env.add(EnvVarInput.exact(e.name(), e.value()));
            }
            List<MountInput> mounts = c.volumeMounts().stream()
                    .map(m -> new MountInput(m.name(), m.mountPath(), m.readOnly())).toList();
            containers.add(new ContainerPolicyInput(c.name(), c.image(),
                    c.command().isEmpty() ? null : c.command(),
                    c.args().isEmpty() ? null : c.args(),
                    env, c.workingDir(), null, mounts, List.of(), List.of(),
                    // the process sandbox and the microVM never run containers privileged
                    new SecurityInput(false, true, false, "")));
        }
        List<String> volumes = spec.volumes().stream().map(GroupSpec.VolumeSpec::name).toList();
        return new GroupPolicyInput(spec.name(), containers, volumes);
    }

    /**
     * Generates the group's policy. {@code disks} maps a layer's diffID hex to its built disk;
     * every layer of every image must be there.
     */
    public static GeneratedPolicy generate(GroupSpec spec, Map<String, LocalImage> images, Map<String, LayerDisk> disks,
                                           boolean debugMode) throws IOException {
        Map<String, ImageConfig> configs = new java.util.LinkedHashMap<>();
        Map<String, LocalImage> byRef = new java.util.LinkedHashMap<>();
        for (GroupSpec.ContainerSpec c : spec.containers()) {
            configs.put(c.name(), images.get(c.name()).config());
            byRef.put(c.image(), images.get(c.name()));
        }
        ImageSource source = ref -> {
            LocalImage image = byRef.get(ref);
            if (image == null) throw new IOException("expected image " + ref + " to be resolved before policy generation, found it missing");
            List<String> hashes = new ArrayList<>();
            for (var layer : image.layers()) {
                LayerDisk disk = disks.get(layer.diffId().hex());
                if (disk == null) {
                    throw new IOException("expected a layer disk for " + layer.diffId() + " of " + ref + ", found none");
                }
                hashes.add(disk.rootHash());
            }
            ImageConfig cfg = image.config();
            return new ResolvedImage(image.reference().toString(), hashes, cfg.entrypoint(), cfg.cmd(), cfg.env(),
                    cfg.workingDir(), cfg.user());
        };
        return new PolicyGenerator(source).generate(input(spec, configs), debugMode);
    }
}
