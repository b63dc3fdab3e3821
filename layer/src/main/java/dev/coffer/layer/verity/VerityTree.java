package dev.coffer.layer.verity;

import dev.coffer.layer.ext4.ImageSink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * A dm-verity hash tree built while the image streams through it: SHA-256, 4096-byte data and
 * hash blocks, a salt of 32 zero bytes prepended to every hashed block, levels built until one
 * block remains, root = SHA-256(salt || top block). That is what Azure's {@code dmverity}
 * package and {@code veritysetup format --no-superblock --salt=<64 zeros>} compute.
 *
 * <p>It is also the {@link ImageSink} of the ext4 writer, so the image is hashed as it is
 * produced rather than read back. Data blocks optionally go to an image file as well. The
 * level-0 hashes (1/128 of the image) spill to a scratch file, so memory stays bounded whatever
 * the layer size; upper levels (1/16384 of the image) stay in memory.
 *
 * <p>Hashing runs on a second thread while the caller produces the next chunk: the writer side
 * (tar parsing, decompression) and SHA-256 then overlap.
 */
public final class VerityTree implements ImageSink, AutoCloseable {
    public static final int BLOCK = 4096;
    private static final int HASH = 32;
    private static final byte[] SALT = new byte[32];
    private static final int CHUNK_BLOCKS = 256; // 1 MiB per hand-off to the hashing thread
    private static final byte[] ZERO_BLOCK_HASH = hashBlock(sha256(), new byte[BLOCK], 0);

    private final FileChannel image;
    private final FileChannel level0;
    private final Path level0File;
    private final HashPipeline pipeline;
    private byte[] chunk = new byte[CHUNK_BLOCKS * BLOCK];
    private int chunkFill;
    private long chunkStartBlock;
    private long imageEnd;
    private final List<Patch> patches = new ArrayList<>();
    private long firstStreamedBlock;
    private boolean finished;

    /**
     * @param image where the data blocks go too, or null to only hash them
     * @param scratchDir where the level-0 hashes spill to
     */
    public VerityTree(FileChannel image, Path scratchDir) throws IOException {
        this.image = image;
        this.level0File = Files.createTempFile(scratchDir, "coffer-verity-", ".level0");
        this.level0 = FileChannel.open(level0File, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.DELETE_ON_CLOSE);
        this.pipeline = new HashPipeline(level0, image);
    }

    /** A block of the initial gap; applied in order of arrival after the stream ends. */
    private record Patch(long index, byte[] block) {}

    @Override
    public void skipTo(long position) throws IOException {
        if (position % BLOCK != 0 || chunkFill != 0 || position < chunkStartBlock * BLOCK) {
            throw new IllegalStateException("skipTo must move forward to a block boundary before any write");
        }
        chunkStartBlock = position / BLOCK;
        firstStreamedBlock = chunkStartBlock;
        imageEnd = Math.max(imageEnd, position);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n = Math.min(len, chunk.length - chunkFill);
            System.arraycopy(b, off, chunk, chunkFill, n);
            chunkFill += n;
            off += n;
            len -= n;
            if (chunkFill == chunk.length) flushChunk();
        }
    }

    @Override
    public void writeFrom(Source src, long n) throws IOException {
        while (n > 0) {
            int r = src.read(chunk, chunkFill, (int) Math.min(n, chunk.length - chunkFill));
            if (r < 0) throw new java.io.EOFException(n + " bytes of file data missing");
            chunkFill += r;
            n -= r;
            if (chunkFill == chunk.length) flushChunk();
        }
    }

    @Override
    public void writeZeros(long n) throws IOException {
        while (n > 0) {
            if (chunkFill == 0 && n >= chunk.length) {
                // Whole zero chunks (padding up to a group boundary) need no hashing: one hash fits all.
                long blocks = n / BLOCK;
                pipeline.submitZeros(chunkStartBlock, blocks, ZERO_BLOCK_HASH);
                chunkStartBlock += blocks;
                imageEnd = chunkStartBlock * BLOCK;
                n -= blocks * BLOCK;
                continue;
            }
            int m = (int) Math.min(n, chunk.length - chunkFill);
            Arrays.fill(chunk, chunkFill, chunkFill + m, (byte) 0);
            chunkFill += m;
            n -= m;
            if (chunkFill == chunk.length) flushChunk();
        }
    }

    @Override
    public void writeBlock(long index, byte[] block) throws IOException {
        if (block.length != BLOCK) throw new IllegalArgumentException("not a whole block");
        long buffered = chunkFill / BLOCK;
        if (index >= chunkStartBlock && index < chunkStartBlock + buffered) {
            // Still in the buffer: not hashed yet, so just replace the bytes.
            System.arraycopy(block, 0, chunk, (int) (index - chunkStartBlock) * BLOCK, BLOCK);
        } else if (index < firstStreamedBlock) {
            // The gap skipped at the start (superblock, group descriptors): a handful of
            // blocks, applied once the stream is done.
            patches.add(new Patch(index, block.clone()));
        } else if (index < chunkStartBlock) {
            // Already hashed (a rewritten xattr block, rare): wait for the workers, then redo it.
            pipeline.drain();
            if (image != null) writeFully(image, ByteBuffer.wrap(block), index * BLOCK);
            writeFully(level0, ByteBuffer.wrap(hashBlock(sha256(), block, 0)), index * HASH);
        } else {
            throw new IllegalStateException("block " + index + " has not been written yet");
        }
    }

    private void flushChunk() throws IOException {
        if (chunkFill % BLOCK != 0) throw new IllegalStateException("unaligned flush");
        int blocks = chunkFill / BLOCK;
        pipeline.submit(chunkStartBlock, chunk, blocks);
        chunk = pipeline.freeBuffer(chunk.length);
        chunkStartBlock += blocks;
        imageEnd = chunkStartBlock * BLOCK;
        chunkFill = 0;
    }

    /**
     * Ends the image (which must end on a block boundary) and computes the tree. The image file,
     * if any, then holds exactly {@code dataSize} bytes of data.
     */
    public Result finish() throws IOException {
        if (finished) throw new IllegalStateException("already finished");
        finished = true;
        if (chunkFill % BLOCK != 0) throw new IllegalStateException("image does not end on a block boundary");
        if (chunkFill > 0) flushChunk();
        pipeline.drain();
        long dataBlocks = imageEnd / BLOCK;
        MessageDigest md = sha256();
        ByteBuffer one = ByteBuffer.allocate(HASH);
        for (Patch p : patches) {
            if (image != null) writeFully(image, ByteBuffer.wrap(p.block()), p.index() * BLOCK);
            one.clear();
            one.put(hashBlock(md, p.block(), 0)).flip();
            writeFully(level0, one, p.index() * HASH);
        }
        if (image != null && image.size() < imageEnd) {
            // Trailing zero blocks were skipped, not written: give the file its full length.
            writeFully(image, ByteBuffer.allocate(BLOCK), imageEnd - BLOCK);
        }

        // Level 0 is read back from the scratch file; the levels above it are small.
        List<byte[]> levels = new ArrayList<>();
        long level0Bytes = roundUp(dataBlocks * HASH);
        boolean level0InMemory = level0Bytes <= BLOCK;
        byte[] current;
        if (level0InMemory) {
            current = readLevel0(level0Bytes);
            levels.add(current);
        } else {
            current = hashLevelFromFile(md, level0Bytes, dataBlocks);
            levels.add(current);
            while (current.length > BLOCK) {
                current = hashLevel(md, current);
                levels.add(current);
            }
        }
        byte[] root = hashBlock(md, levels.getLast(), 0);
        return new Result(HexFormat.of().formatHex(root), imageEnd, level0Bytes, level0InMemory,
                levels.reversed(), this);
    }

    /** Hashes level 0 (in the scratch file) into level 1, padding level 0's last block with zeros. */
    private byte[] hashLevelFromFile(MessageDigest md, long level0Bytes, long dataBlocks) throws IOException {
        if (level0Bytes <= BLOCK) return new byte[0];
        long blocks = level0Bytes / BLOCK;
        byte[] next = new byte[(int) roundUp(blocks * HASH)];
        ByteBuffer buf = ByteBuffer.allocate(CHUNK_BLOCKS * BLOCK);
        long pos = 0;
        int out = 0;
        long validBytes = dataBlocks * HASH;
        while (pos < level0Bytes) {
            buf.clear();
            int want = (int) Math.min(buf.capacity(), level0Bytes - pos);
            buf.limit(want);
            readFully(level0, buf, pos, validBytes);
            byte[] a = buf.array();
            for (int off = 0; off < want; off += BLOCK) {
                System.arraycopy(hashBlock(md, a, off), 0, next, out, HASH);
                out += HASH;
            }
            pos += want;
        }
        return next;
    }

    private byte[] readLevel0(long level0Bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) level0Bytes);
        readFully(level0, buf, 0, level0.size());
        return buf.array();
    }

    private static byte[] hashLevel(MessageDigest md, byte[] level) {
        int blocks = level.length / BLOCK;
        byte[] next = new byte[(int) roundUp((long) blocks * HASH)];
        for (int i = 0; i < blocks; i++) {
            System.arraycopy(hashBlock(md, level, i * BLOCK), 0, next, i * HASH, HASH);
        }
        return next;
    }

    /** Reads into buf from the channel; bytes at or past validEnd (never written) read as zeros. */
    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, long validEnd) throws IOException {
        while (buf.hasRemaining()) {
            long at = pos + buf.position();
            if (at >= validEnd) {
                while (buf.hasRemaining()) buf.put((byte) 0);
                break;
            }
            int n = ch.read(buf, at);
            if (n < 0) {
                while (buf.hasRemaining()) buf.put((byte) 0);
                break;
            }
        }
        buf.flip();
    }

    static void writeFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    private static long roundUp(long n) {
        return (n + BLOCK - 1) / BLOCK * BLOCK;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    static byte[] hashBlock(MessageDigest md, byte[] b, int off) {
        md.update(SALT);
        md.update(b, off, BLOCK);
        return md.digest();
    }

    @Override
    public void close() {
        pipeline.shutdown();
        try {
            level0.close();
            Files.deleteIfExists(level0File);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The finished tree. {@code levels} are top level first, as dm-verity lays them out on the
     * hash device, except that level 0 stays in the scratch file until {@link #writeHashDevice}.
     */
    public static final class Result {
        private final String rootHashHex;
        private final long dataSize;
        private final long level0Bytes;
        private final boolean level0InMemory;
        private final List<byte[]> upperLevels;
        private final VerityTree tree;

        Result(String rootHashHex, long dataSize, long level0Bytes, boolean level0InMemory, List<byte[]> levels,
               VerityTree tree) {
            this.rootHashHex = rootHashHex;
            this.dataSize = dataSize;
            this.level0Bytes = level0Bytes;
            this.level0InMemory = level0InMemory;
            this.upperLevels = levels;
            this.tree = tree;
        }

        public String rootHashHex() {
            return rootHashHex;
        }

        public long dataSize() {
            return dataSize;
        }

        /** Bytes of the hash device: superblock block plus all levels. */
        public long hashDeviceSize() {
            long n = BLOCK;
            for (byte[] l : upperLevels) n += l.length;
            return n + (level0InMemory ? 0 : level0Bytes);
        }

        /**
         * Writes the verity superblock and the tree at {@code offset} of the channel, the layout
         * {@code veritysetup open DATA NAME HASH ROOT --hash-offset=offset} reads.
         */
        public void writeHashDevice(FileChannel out, long offset) throws IOException {
            long pos = offset;
            writeFully(out, ByteBuffer.wrap(VeritySuperblock.encode(dataSize / BLOCK, rootHashHex)), pos);
            pos += BLOCK;
            for (byte[] level : upperLevels) {
                writeFully(out, ByteBuffer.wrap(level), pos);
                pos += level.length;
            }
            if (!level0InMemory) {
                long copied = 0;
                long valid = Math.min(tree.level0.size(), level0Bytes);
                while (copied < valid) {
                    copied += tree.level0.transferTo(copied, valid - copied, out.position(pos + copied));
                }
                if (valid < level0Bytes) {
                    writeFully(out, ByteBuffer.allocate((int) (level0Bytes - valid)), pos + valid);
                }
            }
        }
    }
}
