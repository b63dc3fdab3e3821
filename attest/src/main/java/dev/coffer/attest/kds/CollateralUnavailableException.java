package dev.coffer.attest.kds;

/**
 * The certificates needed to judge evidence could not be obtained (KDS down, rate limited,
 * unreachable, offline with an empty cache). This says nothing about the evidence itself:
 * callers must report "collateral unavailable", never "invalid evidence".
 */
public final class CollateralUnavailableException extends RuntimeException {
    public CollateralUnavailableException(String message) {
        super(message);
    }

    public CollateralUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
