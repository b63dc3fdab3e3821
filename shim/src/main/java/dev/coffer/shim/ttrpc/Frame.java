package dev.coffer.shim.ttrpc;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * One ttrpc message on the wire (github.com/containerd/ttrpc channel.go): a 10-byte header
 * (payload length u32, stream id u32, type u8, flags u8, all big-endian) and the payload.
 */
record Frame(int streamId, byte type, byte flags, byte[] payload) {
    static final int HEADER = 10;
    /** ttrpc's messageLengthMax: larger messages are refused, not read into memory. */
    static final int MAX_PAYLOAD = 4 << 20;
    static final byte REQUEST = 1;
    static final byte RESPONSE = 2;

    /** A header whose payload is over {@link #MAX_PAYLOAD}: the payload was skipped, not read. */
    record Oversized(int streamId, byte type, long length) {}

    /**
     * Reads the next frame, or returns {@link Oversized} after discarding an oversized payload.
     *
     * @return null at a clean end of stream (between frames)
     * @throws EOFException when the stream ends inside a frame
     */
    static Object read(ReadableByteChannel in) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        if (!fill(in, header, true)) return null;
        header.flip();
        long length = Integer.toUnsignedLong(header.getInt());
        int streamId = header.getInt();
        byte type = header.get();
        byte flags = header.get();
        if (length > MAX_PAYLOAD) {
            skip(in, length);
            return new Oversized(streamId, type, length);
        }
        ByteBuffer payload = ByteBuffer.allocate((int) length);
        fill(in, payload, false);
        return new Frame(streamId, type, flags, payload.array());
    }

    void write(WritableByteChannel out) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(HEADER + payload.length);
        buf.putInt(payload.length).putInt(streamId).put(type).put(flags).put(payload).flip();
        while (buf.hasRemaining()) out.write(buf);
    }

    /** @return false when the stream ended before the first byte and {@code cleanEndAllowed} */
    private static boolean fill(ReadableByteChannel in, ByteBuffer buf, boolean cleanEndAllowed) throws IOException {
        while (buf.hasRemaining()) {
            if (in.read(buf) < 0) {
                if (cleanEndAllowed && buf.position() == 0) return false;
                throw new EOFException("expected " + buf.capacity() + " bytes of a ttrpc " + (cleanEndAllowed ? "header" : "payload")
                        + ", found the stream ended after " + buf.position());
            }
        }
        return true;
    }

    private static void skip(ReadableByteChannel in, long length) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate(64 << 10);
        long left = length;
        while (left > 0) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), left));
            int n = in.read(scratch);
            if (n < 0) throw new EOFException("expected " + length + " bytes of an oversized ttrpc payload, found the stream ended");
            left -= n;
        }
    }
}
