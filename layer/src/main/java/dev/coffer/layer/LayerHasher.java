package dev.coffer.layer;

import dev.coffer.layer.ext4.TarToExt4;
import dev.coffer.layer.tar.LayerInput;
import dev.coffer.layer.tar.TarReader;
import dev.coffer.layer.verity.VerityTree;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Layer tar (plain, gzip or zstd) to dm-verity root hash, and to layer disk.
 *
 * <p>The tar streams through the ext4 writer into the verity tree: file data is hashed (and,
 * for a disk, written) as it is read, and only metadata stays in memory, so a layer of any size
 * needs a few MiB of heap plus roughly 250 bytes per file (a 2.3 GB layer of 524,288 files hashes
 * in a 256 MB heap). Hashes equal those of Azure's
 * {@code dmverity-vhd} / {@code tar2ext4} for the same tar.
 */
public final class LayerHasher {
    private final Path scratchDir;

    /** Spills level-0 hashes (1/128 of the image size) to {@code scratchDir}. */
    public LayerHasher(Path scratchDir) {
        this.scratchDir = scratchDir;
    }

    /** Uses the system temporary directory for scratch files. */
    public LayerHasher() {
        this(Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** The root hash of a layer file (plain, gzip or zstd), without keeping the image. */
    public LayerHash rootHash(Path layerFile) throws IOException {
        try (InputStream in = new MappedFileInputStream(layerFile)) {
            return rootHash(in, false);
        }
    }

    /** Writes the disk of a layer file to {@code target}; see {@link #buildDisk(InputStream, Path)}. */
    public LayerDisk buildDisk(Path layerFile, Path target) throws IOException {
        try (InputStream in = new MappedFileInputStream(layerFile)) {
            return buildDisk(in, target, null);
        }
    }

    /** The root hash of a layer, without keeping the image. Does not compute the diffID. */
    public LayerHash rootHash(InputStream layer) throws IOException {
        return rootHash(layer, false);
    }

    /** The root hash of a layer; with {@code withDiffId} also the SHA-256 of the uncompressed tar. */
    public LayerHash rootHash(InputStream layer, boolean withDiffId) throws IOException {
        Tar tar = Tar.open(layer, withDiffId);
        try (VerityTree tree = new VerityTree(null, scratchDir)) {
            TarToExt4.convert(tar.reader, tree);
            VerityTree.Result r = tree.finish();
            return new LayerHash(r.rootHashHex(), tar.finishDiffId(), r.dataSize());
        }
    }

    /**
     * Writes the layer disk to {@code target} (replacing it atomically) and returns its layout.
     * On any failure nothing is left at {@code target} or beside it.
     */
    public LayerDisk buildDisk(InputStream layer, Path target) throws IOException {
        return buildDisk(layer, target, null);
    }

    /**
     * Like {@link #buildDisk(InputStream, Path)}; when {@code expectedDiffId} is given the
     * uncompressed tar must hash to it, else nothing is written and the mismatch is reported.
     */
    public LayerDisk buildDisk(InputStream layer, Path target, String expectedDiffId) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path partial = Files.createTempFile(dir, "." + target.getFileName() + ".", ".partial");
        boolean done = false;
        try {
            Tar tar = Tar.open(layer, true);
            VerityTree.Result r;
            try (FileChannel out = FileChannel.open(partial, StandardOpenOption.WRITE, StandardOpenOption.READ);
                 VerityTree tree = new VerityTree(out, dir)) {
                TarToExt4.convert(tar.reader, tree);
                r = tree.finish();
                String diffId = tar.finishDiffId();
                if (expectedDiffId != null && !expectedDiffId.equals(diffId)) {
                    throw new InvalidLayerException("layer content hashes to diffID " + diffId + " but "
                            + expectedDiffId + " was expected; the blob was altered or mislabelled");
                }
                r.writeHashDevice(out, r.dataSize());
                out.force(true);
                try {
                    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
                }
                done = true;
                return new LayerDisk(target, r.rootHashHex(), r.dataSize(), r.dataSize(), diffId);
            }
        } finally {
            if (!done) Files.deleteIfExists(partial);
        }
    }

    /**
     * Checks a whole layer disk in user space, for hosts without dm-verity: re-hashes every data
     * block and requires the root hash to be {@code expectedRootHash}, the value the policy pins.
     * Slower than dm-verity's lazy checks (it reads the whole image up front) but as strict.
     */
    public LayerDisk verifyDisk(Path disk, String expectedRootHash) throws IOException {
        LayerDisk layout = LayerDiskCache.describe(disk, null);
        if (!layout.rootHash().equals(expectedRootHash)) {
            throw new InvalidLayerException("layer disk " + disk + " carries root hash " + layout.rootHash()
                    + " but " + expectedRootHash + " is expected; the disk is not the pinned layer");
        }
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ);
             VerityTree tree = new VerityTree(null, scratchDir)) {
            tree.skipTo(0);
            // Reads land straight in the tree's hashing buffers: no staging copy of the image.
            long[] pos = {0};
            tree.writeFrom((b, off, len) -> {
                int n = ch.read(java.nio.ByteBuffer.wrap(b, off, len), pos[0]);
                if (n < 0) throw new InvalidLayerException("layer disk " + disk + " ends inside its data; it is damaged");
                pos[0] += n;
                return n;
            }, layout.dataSize());
            String actual = tree.finish().rootHashHex();
            if (!actual.equals(expectedRootHash)) {
                throw new InvalidLayerException("layer disk " + disk + " data hashes to " + actual + " but "
                        + expectedRootHash + " is expected; the disk was altered");
            }
        }
        return layout;
    }

    /** The diffID of a layer blob: "sha256:" + hex SHA-256 of its uncompressed tar. */
    public static String diffId(InputStream layer) throws IOException {
        Tar tar = Tar.open(layer, true);
        return tar.finishDiffId();
    }

    /** The tar reader over a sniffed, decompressed layer, optionally digesting it for the diffID. */
    private static final class Tar {
        final TarReader reader;
        final InputStream stream;
        final MessageDigest digest;

        private Tar(TarReader reader, InputStream stream, MessageDigest digest) {
            this.reader = reader;
            this.stream = stream;
            this.digest = digest;
        }

        static Tar open(InputStream layer, boolean withDiffId) throws IOException {
            InputStream tar = LayerInput.open(layer);
            MessageDigest md = null;
            if (withDiffId) {
                try {
                    md = MessageDigest.getInstance("SHA-256");
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException("the JDK has no SHA-256", e);
                }
                tar = new DigestInputStream(tar, md);
            }
            return new Tar(new TarReader(tar), tar, md);
        }

        /** Reads what follows the end-of-archive marker (it is part of the diffID) and returns the digest. */
        String finishDiffId() throws IOException {
            if (digest == null) return null;
            byte[] buf = new byte[1 << 16];
            while (stream.read(buf) >= 0) {
                // drain
            }
            return "sha256:" + HexFormat.of().formatHex(digest.digest());
        }
    }
}
