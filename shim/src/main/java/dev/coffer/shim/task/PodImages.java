package dev.coffer.shim.task;

import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.oci.store.ImageStore.Listing;
import dev.coffer.runtime.group.RunOptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The images whose layer disks a pod's group is launched with, so the pod's containers can join
 * it later: RunPodSandbox tells nothing of the containers to come, but the pod's policy does, by
 * pinning each layer's dm-verity root hash. An image of the Coffer home every one of whose layers
 * the policy pins is attached (its disks built if they are not yet); nothing else (the agent refuses any disk it was not launched with,
 * and mounts an attached one only if its root hash is pinned). A development pod under
 * {@code allow-all} gets every image of the home; under {@code generate} (a policy of the sandbox
 * container alone) none.
 */
final class PodImages {
    private PodImages() {}

    static List<String> joinable(Path home, String policy, String policyText) throws IOException {
        if (policy.equals(RunOptions.GENERATE)) return List.of();
        boolean all = policy.equals(RunOptions.ALLOW_ALL);
        List<String> out = new ArrayList<>();
        LayerDiskCache cache = new LayerDiskCache(home.resolve("layers"));
        try (ImageStore store = ImageStore.open(home)) {
            for (Listing listing : store.listAll()) {
                if (!listing.ok()) continue; // an image that does not verify is never attached
                LocalImage image = listing.image();
                if (all || pinsEveryLayer(cache, store, image, policyText)) out.add(image.reference().toString());
            }
        }
        return out;
    }

    /**
     * Whether the policy pins every layer of {@code image}. A layer whose disk is not built yet is
     * built now (once: the cache keeps it): the policy may come from another machine, or from
     * {@code coffer policy gen pod.yaml}, which hashes layers without keeping their disks. An image
     * whose layer cannot be read (a tampered blob fails the store's digest check) is not attached.
     */
    private static boolean pinsEveryLayer(LayerDiskCache cache, ImageStore store, LocalImage image, String policyText) {
        for (LayerBlob layer : image.layers()) {
            LayerDisk disk;
            try {
                disk = cache.getOrBuild("sha256:" + layer.diffId().hex(), () -> store.openLayer(layer));
            } catch (IOException | RuntimeException e) {
                return false;
            }
            if (!policyText.contains(disk.rootHash())) return false;
        }
        return true;
    }
}
