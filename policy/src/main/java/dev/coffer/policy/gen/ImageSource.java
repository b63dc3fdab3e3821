package dev.coffer.policy.gen;

import java.io.IOException;

/**
 * Where the generator gets an image's config and layer hashes. The production implementation
 * ({@link StoreImageSource}) reads the local image store and hashes every layer; the seam
 * exists so the generator's logic does not depend on how images are stored.
 */
public interface ImageSource {
    /**
     * Resolves an image reference and computes the dm-verity root hash of every layer.
     *
     * @throws LayerProcessingException if any layer cannot be read or hashed
     * @throws IOException              if the image cannot be resolved
     */
    ResolvedImage resolve(String imageRef) throws IOException;
}
