package dev.coffer.agent.tee;

/**
 * The TEE cannot produce evidence, or the launch context it would produce it from is not
 * trustworthy. An {@link IllegalStateException} because that is what
 * {@link dev.coffer.agent.skr.EvidenceSource} promises its callers.
 */
public final class TeeException extends IllegalStateException {
    public TeeException(String message) {
        super(message);
    }

    public TeeException(String message, Throwable cause) {
        super(message, cause);
    }
}
