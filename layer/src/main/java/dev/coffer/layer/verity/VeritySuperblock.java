package dev.coffer.layer.verity;

import dev.coffer.layer.InvalidLayerException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The 512-byte dm-verity superblock (padded to a 4096-byte block) that precedes the hash tree
 * on a layer disk: "verity", version 1, normal hash type, SHA-256, 4096-byte blocks, the data
 * block count and the 32-byte zero salt.
 *
 * <p>Azure writes a random UUID here; ours is derived from the root hash so that building the
 * same layer twice gives the same bytes (the UUID is not part of the root hash either way).
 */
public final class VeritySuperblock {
    private static final byte[] SIGNATURE = "verity\0\0".getBytes(StandardCharsets.US_ASCII);

    private VeritySuperblock() {}

    public static byte[] encode(long dataBlocks, String rootHashHex) {
        ByteBuffer b = ByteBuffer.allocate(VerityTree.BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, SIGNATURE);
        b.putInt(8, 1); // version
        b.putInt(12, 1); // hash type: normal (not Chrome OS)
        b.put(16, uuid(rootHashHex));
        b.put(32, "sha256".getBytes(StandardCharsets.US_ASCII));
        b.putInt(64, VerityTree.BLOCK);
        b.putInt(68, VerityTree.BLOCK);
        b.putLong(72, dataBlocks);
        b.putShort(80, (short) 32); // salt size; the salt itself is zeros
        return b.array();
    }

    /** The fields of a superblock read back from a disk. */
    public record Info(long dataBlocks, int dataBlockSize, int hashBlockSize, String algorithm, int saltSize) {}

    public static Info decode(byte[] block) throws InvalidLayerException {
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < SIGNATURE.length; i++) {
            if (block[i] != SIGNATURE[i]) {
                throw new InvalidLayerException("no dm-verity superblock where one was expected (bad signature); "
                        + "the disk is not a Coffer layer disk or is damaged, delete it to rebuild");
            }
        }
        int end = 32;
        while (end < 64 && block[end] != 0) end++;
        String algorithm = new String(block, 32, end - 32, StandardCharsets.US_ASCII);
        Info info = new Info(b.getLong(72), b.getInt(64), b.getInt(68), algorithm, b.getShort(80) & 0xffff);
        if (b.getInt(8) != 1 || b.getInt(12) != 1 || !algorithm.equals("sha256") || info.dataBlockSize() != 4096
                || info.hashBlockSize() != 4096 || info.saltSize() != 32) {
            throw new InvalidLayerException("dm-verity superblock has unexpected parameters " + info
                    + ", expected version 1, sha256, 4096-byte blocks, 32-byte salt; delete the disk to rebuild");
        }
        for (int i = 88; i < 88 + 32; i++) {
            if (block[i] != 0) {
                throw new InvalidLayerException("dm-verity superblock has a non-zero salt, expected 32 zero bytes; "
                        + "delete the disk to rebuild");
            }
        }
        return info;
    }

    private static byte[] uuid(String rootHashHex) {
        MessageDigest md = VerityTree.sha256();
        md.update("coffer layer disk uuid\0".getBytes(StandardCharsets.US_ASCII));
        md.update(HexFormat.of().parseHex(rootHashHex));
        byte[] u = new byte[16];
        System.arraycopy(md.digest(), 0, u, 0, 16);
        u[6] = (byte) ((u[6] & 0x0f) | 0x40); // version 4 layout
        u[8] = (byte) ((u[8] & 0x3f) | 0x80); // RFC 4122 variant
        return u;
    }
}
