package dev.coffer.attest.endorse;

/**
 * A guest endorsement that is not a well-formed COSE_Sign1 UVM reference-info document, or a
 * did:x509 identifier that does not follow the method's syntax. The message says what was
 * expected and what was found.
 */
public final class EndorsementFormatException extends RuntimeException {
    public EndorsementFormatException(String message) {
        super(message);
    }

    EndorsementFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
