package dev.coffer.layer.ext4;

import java.io.IOException;

/**
 * Where an ext4 image goes. The writer produces the image almost entirely in order — file data,
 * directories, inode table, bitmaps — and only at the end fills in the blocks it skipped at the
 * start (superblock, group descriptors), plus the rare rewrite of an xattr block. A sink can
 * therefore hash the image as it streams by instead of reading it back.
 */
public interface ImageSink {
    /** Appends bytes at the current sequential position. */
    void write(byte[] b, int off, int len) throws IOException;

    /** Where file data comes from: reads like {@link java.io.InputStream#read(byte[], int, int)}. */
    @FunctionalInterface
    interface Source {
        int read(byte[] b, int off, int len) throws IOException;
    }

    /**
     * Appends exactly n bytes read from src. Sinks that buffer override this to read straight
     * into their buffer and save a copy of every data byte.
     */
    default void writeFrom(Source src, long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(n, 1 << 16)];
        while (n > 0) {
            int r = src.read(buf, 0, (int) Math.min(n, buf.length));
            if (r < 0) throw new java.io.EOFException(n + " bytes of file data missing");
            write(buf, 0, r);
            n -= r;
        }
    }

    /** Appends n zero bytes. */
    void writeZeros(long n) throws IOException;

    /** Writes one whole block at a block index behind the sequential position. */
    void writeBlock(long index, byte[] block) throws IOException;

    /** Moves the sequential position forward to a block boundary, leaving a gap filled later by writeBlock. */
    void skipTo(long position) throws IOException;
}
