package dev.coffer.layer;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads a layer file through a memory mapping: one copy from the page cache into our buffers
 * and no system call per read, which is a measurable share of the conversion when the hashing
 * itself runs at gigabytes per second. Works for files of any size.
 */
final class MappedFileInputStream extends InputStream {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private long pos;
    private long mark;

    MappedFileInputStream(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            segment = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public int read() {
        if (pos >= segment.byteSize()) return -1;
        return segment.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        long left = segment.byteSize() - pos;
        if (len == 0) return 0;
        if (left <= 0) return -1;
        int n = (int) Math.min(len, left);
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public long skip(long n) {
        long k = Math.max(0, Math.min(n, segment.byteSize() - pos));
        pos += k;
        return k;
    }

    /**
     * Mark and reset are free on a mapping, which lets the compression sniffer read the magic
     * bytes without a BufferedInputStream in front: that buffer would copy every byte twice.
     */
    @Override
    public boolean markSupported() {
        return true;
    }

    @Override
    public void mark(int readLimit) {
        mark = pos;
    }

    @Override
    public void reset() {
        pos = mark;
    }

    @Override
    public int available() {
        return (int) Math.min(Integer.MAX_VALUE, segment.byteSize() - pos);
    }

    @Override
    public void close() {
        arena.close();
    }
}
