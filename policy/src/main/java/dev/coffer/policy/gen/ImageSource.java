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

    /**
     * The users and groups the image's own /etc/passwd and /etc/group list, read from its layers
     * as the container's root file system shows them. Read only when a policy needs them (a pod
     * whose groups containerd derives from the image), since it reads every layer again.
     *
     * @throws IOException when the image cannot be resolved or a layer read
     */
    default ImageAccounts accounts(String imageRef) throws IOException {
        // fail closed: a source that cannot read files must not pass for an image without accounts
        throw new IOException("the users and groups of image " + imageRef + " cannot be read from this image source");
    }
}
