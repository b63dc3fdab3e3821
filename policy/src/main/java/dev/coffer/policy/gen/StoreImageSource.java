package dev.coffer.policy.gen;

import dev.coffer.layer.LayerHasher;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Images from the local store, each layer hashed from its uncompressed tar (tar → ext4 →
 * dm-verity root hash). The store verifies the blob digest and diffID while the hasher reads,
 * so a tampered blob fails generation instead of being pinned.
 */
public final class StoreImageSource implements ImageSource {
    private final ImageStore store;
    private final LayerHasher hasher;

    public StoreImageSource(ImageStore store) {
        this(store, new LayerHasher());
    }

    public StoreImageSource(ImageStore store, LayerHasher hasher) {
        this.store = store;
        this.hasher = hasher;
    }

    @Override
    public ResolvedImage resolve(String imageRef) throws IOException {
        LocalImage image = store.resolve(imageRef);
        List<String> hashes = new ArrayList<>();
        List<LayerBlob> layers = image.layers();
        for (int i = 0; i < layers.size(); i++) {
            LayerBlob layer = layers.get(i);
            try (InputStream tar = store.openLayer(layer)) {
                hashes.add(hasher.rootHash(tar).rootHash());
            } catch (IOException | RuntimeException e) {
                throw new LayerProcessingException("layer " + (i + 1) + "/" + layers.size() + " (" + layer.digest()
                        + ") of image " + imageRef + " cannot be hashed: " + e.getMessage()
                        + "; remove the image and import or pull it again", e);
            }
        }
        ImageConfig c = image.config();
        return new ResolvedImage(image.reference().toString(), hashes, c.entrypoint(), c.cmd(), c.env(),
                c.workingDir(), c.user());
    }

    @Override
    public ImageAccounts accounts(String imageRef) throws IOException {
        LocalImage image = store.resolve(imageRef);
        List<LayerBlob> layers = image.layers();
        try {
            // each layer as the store verifies it: a tampered blob fails here as in resolve
            java.util.Map<String, String> files = ImageFiles.read(layers.size(), i -> store.openLayer(layers.get(i)),
                    ImageFiles.ACCOUNT_FILES, ImageAccounts.MAX_FILE_BYTES);
            return ImageAccounts.parse(files.get("etc/passwd"), files.get("etc/group"));
        } catch (IOException | RuntimeException e) {
            throw new LayerProcessingException("the users and groups of image " + imageRef + " (its /etc/passwd and /etc/group)"
                    + " cannot be read: " + e.getMessage() + "; remove the image and import or pull it again", e);
        }
    }
}
