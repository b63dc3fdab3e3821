package dev.coffer.runtime.layers;

import dev.coffer.agent.container.Mounts;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.unpack.LayerUnpacker;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Unpacked layers under {@code $COFFER_HOME/layers/<diffID hex>}, each usable as an overlayfs
 * lower directory and shared by every group that uses the layer. A layer is unpacked into a
 * temporary directory and renamed into place only after the blob verified completely, so a
 * tampered or interrupted unpack never becomes a cache entry.
 */
public final class LayerCache {
    private final Path dir;

    public LayerCache(Path cofferHome) {
        this.dir = cofferHome.resolve("layers");
    }

    /** The unpacked directory of {@code layer}, unpacking it first if it is not cached yet. */
    public Path ensure(ImageStore store, LayerBlob layer) throws IOException {
        Path target = dir.resolve(layer.diffId().hex());
        if (Files.isDirectory(target)) return target;
        Files.createDirectories(dir);
        Path tmp = Files.createTempDirectory(dir, ".unpack-" + layer.diffId().hex().substring(0, 12) + "-");
        try {
            try (InputStream tar = store.openLayer(layer)) {
                LayerUnpacker.unpack(tar, tmp);
                // reading to the end is what verifies the digests; close() throws on a mismatch
                tar.transferTo(java.io.OutputStream.nullOutputStream());
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
                // another run unpacked the same layer meanwhile; theirs is as good as ours
                Mounts.deleteTree(tmp);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot rename " + tmp + " to " + target + " atomically", e);
            }
            return target;
        } catch (IOException | RuntimeException e) {
            Mounts.deleteTree(tmp);
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }
}
