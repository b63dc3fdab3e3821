package dev.coffer.runtime.guest;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Frames;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Sessions over the microVM's virtio-serial port, opened in band.
 *
 * <p>Why: the port is one character device with no connections of its own. The guest learns that
 * a host connection ended only from end-of-file on a read, and a host that reconnects before the
 * guest's read notices (QEMU re-opens the port at once) would have its requests appended to the
 * previous connection's agent session, queued behind whatever that session still waits for (a
 * long wait_container) and answered with that session's leftovers. So each host connection
 * begins with a HELLO carrying a fresh nonce; the relay ends the previous agent connection,
 * opens a new one and answers WELCOME with the same nonce, after which only the new session's
 * bytes reach the host. The host skips whatever arrives before its WELCOME (a tail of an older
 * answer that was in flight when its predecessor left).
 *
 * <p>Both markers are 4-byte words that can never be a frame length ({@link Frames} lengths are
 * 1..{@link Frames#MAX_FRAME_BYTES}), so the relay tells them from frames at frame boundaries
 * without parsing any frame's content; it adds nothing to what the host may ask of the agent.
 */
public final class RelaySession {
    static final int HELLO = 0xC0FFEE5E;
    static final int WELCOME = 0xC0FFEE5F;
    static final int NONCE_BYTES = 16;
    /** Bytes the host skips looking for its WELCOME before it gives up: more than any stale answer. */
    static final long MAX_SKIPPED_BYTES = 2L * Frames.MAX_FRAME_BYTES + 64;

    private static final SecureRandom RANDOM = new SecureRandom();

    private RelaySession() {}

    /** The host's side: HELLO with a fresh nonce, then wait (under the first call's deadline) for its WELCOME. */
    public static AgentClient.SessionOpening hostOpening() {
        return (fromAgent, toAgent) -> {
            byte[] nonce = new byte[NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            toAgent.write(marker(HELLO, nonce));
            toAgent.flush();
            awaitWelcome(fromAgent, nonce);
        };
    }

    static byte[] marker(int word, byte[] nonce) {
        return ByteBuffer.allocate(4 + NONCE_BYTES).putInt(word).put(nonce).array();
    }

    /** Reads byte by byte (nothing after the WELCOME may be consumed) until WELCOME and the nonce. */
    static void awaitWelcome(InputStream in, byte[] nonce) throws IOException {
        byte[] expected = marker(WELCOME, nonce);
        byte[] window = new byte[expected.length];
        long read = 0;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("expected the guest agent to acknowledge this connection's session, found the connection"
                        + " closed after " + read + " byte(s); the microVM may have stopped (see its console log)");
            }
            System.arraycopy(window, 1, window, 0, window.length - 1);
            window[window.length - 1] = (byte) b;
            read++;
            if (read >= expected.length && Arrays.equals(window, expected)) return;
            if (read > MAX_SKIPPED_BYTES + expected.length) {
                throw new IOException("expected the guest agent to acknowledge this connection's session, found " + read
                        + " bytes without the acknowledgement; the channel to the microVM is not speaking Coffer's relay"
                        + " protocol (a guest built by another Coffer?): rebuild the guest with `coffer guest build`");
            }
        }
    }

    /**
     * The guest's side: splits the bytes from the host into session openings and frames for the
     * current session. A pure state machine, fed whatever each read returned.
     */
    static final class HostStream {
        interface Sink {
            /** A HELLO: end the current session, open a new one, answer WELCOME with {@code nonce}. */
            void open(byte[] nonce) throws IOException;

            /** Bytes of a frame (length word or body) for the current session. */
            void forward(byte[] b, int off, int len) throws IOException;

            /** Bytes that are neither a frame nor a HELLO: dropped until the next HELLO. */
            void lost(String why);
        }

        private final byte[] word = new byte[4];
        private int wordFill;
        private long bodyLeft;
        private final byte[] nonce = new byte[NONCE_BYTES];
        private int nonceFill = -1;
        private boolean scanning;

        void feed(byte[] b, int off, int len, Sink sink) throws IOException {
            int end = off + len;
            int i = off;
            while (i < end) {
                if (bodyLeft > 0) {
                    int n = (int) Math.min(bodyLeft, end - i);
                    sink.forward(b, i, n);
                    bodyLeft -= n;
                    i += n;
                } else if (nonceFill >= 0) {
                    int n = Math.min(NONCE_BYTES - nonceFill, end - i);
                    System.arraycopy(b, i, nonce, nonceFill, n);
                    nonceFill += n;
                    i += n;
                    if (nonceFill == NONCE_BYTES) {
                        nonceFill = -1;
                        sink.open(nonce.clone());
                    }
                } else {
                    if (wordFill == 4) { // scanning: slide by one byte
                        System.arraycopy(word, 1, word, 0, 3);
                        wordFill = 3;
                    }
                    word[wordFill++] = b[i++];
                    if (wordFill < 4) continue;
                    int value = ByteBuffer.wrap(word).getInt();
                    if (value == HELLO) {
                        scanning = false;
                        wordFill = 0;
                        nonceFill = 0;
                    } else if (scanning) {
                        // keep sliding until a HELLO
                    } else if (value > 0 && value <= Frames.MAX_FRAME_BYTES) {
                        sink.forward(word, 0, 4);
                        wordFill = 0;
                        bodyLeft = value;
                    } else {
                        scanning = true;
                        sink.lost("expected a frame length of 1.." + Frames.MAX_FRAME_BYTES + " or a session HELLO, found 0x"
                                + Integer.toHexString(value) + "; dropping bytes until the host opens a new session");
                    }
                }
            }
        }

        /** The host left: a frame it left unfinished is dropped; the next host starts with a HELLO. */
        void reset() {
            wordFill = 0;
            bodyLeft = 0;
            nonceFill = -1;
            scanning = false;
        }
    }
}
