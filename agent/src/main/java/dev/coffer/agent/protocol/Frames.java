package dev.coffer.agent.protocol;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Length-prefixed frames: a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
 * The transport is any byte stream (a UNIX socket now, a virtio-serial port inside a microVM
 * later), so framing is all the protocol assumes about it.
 */
public final class Frames {
    /** Upper bound on one frame; the agent never allocates more than this for a peer's frame. */
    public static final int MAX_FRAME_BYTES = 4 * 1024 * 1024;

    private Frames() {}

    /**
     * Reads one frame, or returns null on a clean end of stream (the peer closed between frames).
     *
     * @throws FrameException on a length outside 1..MAX_FRAME_BYTES or a stream that ends inside a frame
     */
    public static byte[] read(InputStream in) throws IOException {
        return read(in, length -> true);
    }

    /**
     * As {@link #read(InputStream)}, asking {@code reserve} for the body's bytes before they are
     * allocated: a reader that bounds its memory across connections says no, and the frame is refused.
     *
     * @throws FrameException also when {@code reserve} refuses the length
     */
    public static byte[] read(InputStream in, java.util.function.IntPredicate reserve) throws IOException {
        byte[] header = new byte[4];
        int got = in.readNBytes(header, 0, 4);
        if (got == 0) {
            return null;
        }
        if (got < 4) {
            throw new FrameException("expected a 4-byte frame length, found " + got
                    + " byte(s) before the end of the stream; the peer sent a truncated frame");
        }
        int length = ((header[0] & 0xff) << 24) | ((header[1] & 0xff) << 16) | ((header[2] & 0xff) << 8) | (header[3] & 0xff);
        if (length <= 0 || length > MAX_FRAME_BYTES) {
            throw new FrameException("expected a frame length of 1.." + MAX_FRAME_BYTES + " bytes, found "
                    + Integer.toUnsignedString(length) + "; the peer must split or shrink its request");
        }
        if (!reserve.test(length)) {
            throw new FrameException("expected a frame the agent has memory for now, found one of " + length
                    + " bytes while other connections' requests hold its budget; retry when they are answered");
        }
        byte[] body = new byte[length];
        try {
            new DataInputStream(in).readFully(body);
        } catch (EOFException e) {
            throw new FrameException("expected a frame body of " + length
                    + " bytes, the stream ended before it was complete; the peer sent a truncated frame");
        }
        return body;
    }

    public static void write(OutputStream out, byte[] body) throws IOException {
        if (body.length == 0 || body.length > MAX_FRAME_BYTES) {
            throw new FrameException("expected a frame of 1.." + MAX_FRAME_BYTES + " bytes, found " + body.length
                    + "; shrink the message");
        }
        byte[] header = {(byte) (body.length >>> 24), (byte) (body.length >>> 16), (byte) (body.length >>> 8), (byte) body.length};
        out.write(header);
        out.write(body);
        out.flush();
    }
}
