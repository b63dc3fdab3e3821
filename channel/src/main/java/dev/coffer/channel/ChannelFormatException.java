package dev.coffer.channel;

/**
 * Bytes on the key channel that are not what the format requires (a malformed JWS, an unusable
 * JWK, a release payload without its wrapped key) or that fail a cryptographic check. The
 * message says what was expected and what was found; it never carries key material. Each side
 * maps it to its own error shape (the agent's SKR errors, the server's API errors).
 */
public final class ChannelFormatException extends RuntimeException {
    public ChannelFormatException(String message) {
        super(message);
    }

    public ChannelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
