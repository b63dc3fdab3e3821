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

    /** Appends n zero bytes. */
    void writeZeros(long n) throws IOException;

    /** Writes one whole block at a block index behind the sequential position. */
    void writeBlock(long index, byte[] block) throws IOException;

    /** Moves the sequential position forward to a block boundary, leaving a gap filled later by writeBlock. */
    void skipTo(long position) throws IOException;
}
