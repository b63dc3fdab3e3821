package dev.coffer.runtime.sandbox;

import java.io.IOException;

/** A sandbox that cannot be started or reached; the message says why and what to do. */
public final class SandboxException extends IOException {
    public SandboxException(String message) {
        super(message);
    }

    public SandboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
