package dev.coffer.server.store;

/** The database failed or is unreachable; the message is safe to show (no URLs with passwords). */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
