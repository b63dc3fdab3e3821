package dev.coffer.server.store;

/** A key name (or name + sequence) that is already taken. */
public final class DuplicateKeyException extends Exception {
    public DuplicateKeyException(String message) {
        super(message);
    }
}
