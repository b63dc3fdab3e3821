package dev.coffer.layer;

import java.io.IOException;

/**
 * The layer cannot be turned into a disk: malformed or truncated tar, an entry the ext4 layout
 * cannot hold, an unsupported compression. The message names the entry and says what was
 * expected; nothing was written when it is thrown.
 */
public class InvalidLayerException extends IOException {
    public InvalidLayerException(String message) {
        super(message);
    }

    public InvalidLayerException(String message, Throwable cause) {
        super(message, cause);
    }
}
