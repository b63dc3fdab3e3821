package dev.coffer.runtime.policy;

import dev.coffer.layer.LayerDisk;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.ImageSource;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.spec.GroupSpec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Generates a group's policy from the images and layer disks the runtime already resolved, so
 * each layer is hashed once: its disk's root hash is the hash the policy pins. The result is the
 * policy `coffer policy gen` writes for the same spec and images.
 */
public final class GroupPolicies {
    private GroupPolicies() {}

    /**
     * Generates the group's policy. {@code images} maps a container name to its image,
     * {@code disks} a layer's diffID hex to its built disk; every layer of every image must be there.
     */
    public static GeneratedPolicy generate(GroupSpec spec, Map<String, LocalImage> images, Map<String, LayerDisk> disks,
                                           boolean debugMode) throws IOException {
        Map<String, LocalImage> byRef = new LinkedHashMap<>();
        for (GroupSpec.ContainerSpec c : spec.containers()) {
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
        return new PolicyGenerator(source).generate(GroupPolicyInput.of(spec), debugMode);
    }
}
