package dev.coffer.runtime.group;

import java.io.IOException;

/** A group operation that cannot be done; the message says what was expected, found, and what to do. */
public final class GroupException extends IOException {
    public GroupException(String message) {
        super(message);
    }

    public GroupException(String message, Throwable cause) {
        super(message, cause);
    }
}
