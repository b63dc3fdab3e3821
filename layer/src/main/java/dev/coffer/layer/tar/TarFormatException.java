package dev.coffer.layer.tar;

import dev.coffer.layer.InvalidLayerException;

/** The tar stream itself is malformed or truncated; the message already says where. */
public final class TarFormatException extends InvalidLayerException {
    public TarFormatException(String message) {
        super(message);
    }
}
