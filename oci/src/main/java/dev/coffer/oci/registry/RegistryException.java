package dev.coffer.oci.registry;

import dev.coffer.oci.OciException;

/** A registry refused or failed a request; {@link #status()} is the HTTP status, or -1 for no answer. */
public final class RegistryException extends OciException {
    private final int status;

    public RegistryException(int status, String message) {
        super(message);
        this.status = status;
    }

    public RegistryException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
