package dev.coffer.shim.ttrpc;

/** A call's failure as the caller sees it: a gRPC status code and a message. */
public final class TtrpcException extends Exception {
    private final Code code;

    public TtrpcException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public TtrpcException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
