package dev.coffer.agent.protocol;

import java.io.IOException;

/**
 * A frame on the wire that cannot be read: oversize, truncated, or cut off. After it the byte
 * stream is no longer in sync, so the connection that produced it must be closed.
 */
public final class FrameException extends IOException {
    public FrameException(String message) {
        super(message);
    }
}
