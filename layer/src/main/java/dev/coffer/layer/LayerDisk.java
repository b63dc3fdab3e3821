package dev.coffer.layer;

import java.nio.file.Path;

/**
 * A layer disk: the ext4 image, then at {@code hashOffset} a dm-verity superblock block and the
 * hash tree (top level first). Open it with
 * {@code veritysetup open FILE NAME FILE ROOTHASH --hash-offset=HASHOFFSET} (data and hash
 * device are the same file; the superblock tells veritysetup the data size).
 *
 * @param file       the disk file
 * @param rootHash   dm-verity root hash, 64 lowercase hex digits
 * @param dataSize   bytes of ext4 image at the start of the file (a multiple of 4096)
 * @param hashOffset byte offset of the verity superblock; equals dataSize
 * @param diffId     "sha256:..." of the uncompressed layer tar, or null when not computed
 */
public record LayerDisk(Path file, String rootHash, long dataSize, long hashOffset, String diffId) {
}
