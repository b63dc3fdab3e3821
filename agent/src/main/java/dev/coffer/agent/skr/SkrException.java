package dev.coffer.agent.skr;

/**
 * A refused SKR request: the HTTP status and a stable code for the caller, and a one-line
 * message saying what was expected, what was found and what to do. Messages never carry key
 * material or tokens.
 */
public final class SkrException extends RuntimeException {
    private final int status;
    private final String code;

    public SkrException(int status, String code, String message) {
        super(message);
        this.status = status;
        this.code = code;
    }

    public SkrException(int status, String code, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.code = code;
    }

    /** HTTP status for the SKR API answer. */
    public int status() {
        return status;
    }

    /**
     * Stable code: {@code malformed_request}, {@code body_too_large}, {@code not_found},
     * {@code method_not_allowed}, {@code evidence_unavailable}, {@code endpoint_invalid},
     * {@code upstream_unreachable}, {@code upstream_bad_response}, {@code release_response_invalid},
     * or the attestation service's / key vault's own code (e.g. {@code release_denied}) when
     * they refused.
     */
    public String code() {
        return code;
    }
}
