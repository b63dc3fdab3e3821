package dev.coffer.server.store;

/**
 * The database failed or is unreachable; the message is safe to show (no URLs with passwords).
 * {@link #unavailable()} separates "the database cannot be reached right now" (the request may
 * be retried once it is back: HTTP 503) from a store that answered with something wrong.
 */
public final class StoreException extends RuntimeException {
    private final boolean unavailable;

    public StoreException(String message, Throwable cause) {
        this(message, cause, false);
    }

    public StoreException(String message, Throwable cause, boolean unavailable) {
        super(message, cause);
        this.unavailable = unavailable;
    }

    /** True when the database did not answer (down, restarting, out of connections): nothing was committed. */
    public boolean unavailable() {
        return unavailable;
    }
}
