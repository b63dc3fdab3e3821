package dev.coffer.server.http;

/** A request that failed for a reason in the {@link ErrorCode} catalogue; the message is safe to show. */
public class ApiException extends RuntimeException {
    private final ErrorCode code;
    private final java.util.Map<String, String> headers;

    public ApiException(ErrorCode code, String message) {
        this(code, message, java.util.Map.of());
    }

    /** With response headers the client needs to act on the error (Retry-After). */
    public ApiException(ErrorCode code, String message, java.util.Map<String, String> headers) {
        super(message);
        this.code = code;
        this.headers = java.util.Map.copyOf(headers);
    }

    public ApiException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.headers = java.util.Map.of();
    }

    public ErrorCode code() {
        return code;
    }

    public java.util.Map<String, String> headers() {
        return headers;
    }
}
