package dev.coffer.oci.store;

import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.reference.ImageReference;

import java.time.Instant;
import java.util.List;

/**
 * An image in the local store.
 *
 * @param reference      the name it is stored under
 * @param manifestDigest digest of the (single-platform) manifest; the image id
 * @param layers         base layer first
 * @param size           bytes of config + layers as stored
 * @param created        when it entered this store
 */
public record LocalImage(ImageReference reference, Digest manifestDigest, Digest configDigest, ImageConfig config,
                         List<LayerBlob> layers, long size, Instant created) {
    public LocalImage {
        layers = List.copyOf(layers);
    }

    /** The short id shown by {@code coffer image ls}: 12 hex digits of the manifest digest. */
    public String id() {
        return manifestDigest.shortHex();
    }
}
