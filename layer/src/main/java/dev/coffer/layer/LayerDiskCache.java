package dev.coffer.layer;

import dev.coffer.layer.verity.VeritySuperblock;
import dev.coffer.layer.verity.VerityTree;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Layer disks kept under a directory (normally {@code $COFFER_HOME/layers}), one file per layer
 * named by its diffID: {@code sha256-<hex>.disk}. Building the same layer twice is a hit.
 *
 * <p>Entries are written to a temporary file in the same directory and renamed into place, so
 * concurrent builders never expose a half-written disk; two racing builders of one layer write
 * identical bytes and the last rename wins. A disk is self-describing (ext4 superblock gives the
 * data size, the verity superblock follows it, the root hash is the hash of the top tree block),
 * so there is no separate index to get out of step.
 */
public final class LayerDiskCache {
    private static final Pattern DIFF_ID = Pattern.compile("sha256:[0-9a-f]{64}");

    /** Where a layer blob comes from when it must be (re)built. */
    @FunctionalInterface
    public interface LayerSource {
        InputStream open() throws IOException;
    }

    private final Path dir;
    private final LayerHasher hasher;

    public LayerDiskCache(Path dir) {
        this.dir = dir.toAbsolutePath();
        this.hasher = new LayerHasher(this.dir);
    }

    public Path directory() {
        return dir;
    }

    /** The cached disk of a layer, if present and well-formed. */
    public Optional<LayerDisk> lookup(String diffId) throws IOException {
        Path file = pathFor(diffId);
        try {
            return Optional.of(describe(file, diffId));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (InvalidLayerException e) {
            // A damaged entry (disk full, manual edits) is a miss: it gets rebuilt and replaced.
            return Optional.empty();
        }
    }

    /**
     * The disk of the layer with this diffID: from the cache, else built from {@code source},
     * whose uncompressed content must hash to {@code diffId}.
     */
    public LayerDisk getOrBuild(String diffId, LayerSource source) throws IOException {
        Optional<LayerDisk> hit = lookup(diffId);
        if (hit.isPresent()) return hit.get();
        Files.createDirectories(dir);
        try (InputStream in = source.open()) {
            return hasher.buildDisk(in, pathFor(diffId), diffId);
        }
    }

    /** Builds a layer whose diffID is not known up front; it is stored under the diffID it hashes to. */
    public LayerDisk build(InputStream layer) throws IOException {
        Files.createDirectories(dir);
        Path staging = Files.createTempFile(dir, ".unnamed-", ".disk");
        try {
            LayerDisk built = hasher.buildDisk(layer, staging);
            Path target = pathFor(built.diffId());
            Files.move(staging, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return new LayerDisk(target, built.rootHash(), built.dataSize(), built.hashOffset(), built.diffId());
        } finally {
            Files.deleteIfExists(staging);
        }
    }

    /** The file a layer's disk lives in. Rejects anything but "sha256:" and 64 hex digits. */
    public Path pathFor(String diffId) {
        if (diffId == null || !DIFF_ID.matcher(diffId).matches()) {
            throw new IllegalArgumentException("diffID must be sha256: followed by 64 lowercase hex digits, got '"
                    + diffId + "'");
        }
        return dir.resolve("sha256-" + diffId.substring(7) + ".disk");
    }

    /** Reads a disk's layout back from its own superblocks. */
    public static LayerDisk describe(Path file, String diffId) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer sb = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, sb, 1024, file);
            if ((sb.getShort(56) & 0xffff) != 0xef53) {
                throw new InvalidLayerException(file + " does not start with an ext4 superblock; delete it to rebuild");
            }
            long dataSize = Integer.toUnsignedLong(sb.getInt(4)) * VerityTree.BLOCK;
            ByteBuffer vsb = ByteBuffer.allocate(VerityTree.BLOCK);
            readFully(ch, vsb, dataSize, file);
            VeritySuperblock.Info info = VeritySuperblock.decode(vsb.array());
            if (info.dataBlocks() * VerityTree.BLOCK != dataSize) {
                throw new InvalidLayerException(file + ": verity superblock covers " + info.dataBlocks()
                        + " blocks but the ext4 image has " + dataSize / VerityTree.BLOCK + "; delete it to rebuild");
            }
            long expected = dataSize + VerityTree.BLOCK + treeSize(info.dataBlocks());
            if (ch.size() != expected) {
                throw new InvalidLayerException(file + " is " + ch.size() + " bytes, expected " + expected
                        + " (incomplete or extended); delete it to rebuild");
            }
            ByteBuffer top = ByteBuffer.allocate(VerityTree.BLOCK);
            readFully(ch, top, dataSize + VerityTree.BLOCK, file);
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(new byte[32]);
            md.update(top.array());
            String root = HexFormat.of().formatHex(md.digest());
            return new LayerDisk(file, root, dataSize, dataSize, diffId);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Bytes of all hash levels for a data device of this many blocks. */
    static long treeSize(long dataBlocks) {
        long total = 0;
        long blocks = dataBlocks;
        do {
            long levelBlocks = (blocks * 32 + VerityTree.BLOCK - 1) / VerityTree.BLOCK;
            total += levelBlocks * VerityTree.BLOCK;
            blocks = levelBlocks;
        } while (blocks > 1);
        return total;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path file) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new InvalidLayerException(file + " ends at byte " + (pos + buf.position())
                        + ", before its layout says it should; delete it to rebuild");
            }
        }
    }
}
