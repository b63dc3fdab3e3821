package dev.coffer.runtime.guest;

/** The guest image cannot be built or used; the message says what was expected, found, and what to do. */
public final class GuestBuildException extends RuntimeException {
    public GuestBuildException(String message) {
        super(message);
    }

    public GuestBuildException(String message, Throwable cause) {
        super(message, cause);
    }
}
