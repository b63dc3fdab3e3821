package dev.coffer.attest.cert;

/** Bytes that should hold certificates do not; the message says what was expected and found. */
public final class CertificateFormatException extends IllegalArgumentException {
    public CertificateFormatException(String message) {
        super(message);
    }

    public CertificateFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
