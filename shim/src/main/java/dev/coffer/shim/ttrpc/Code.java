package dev.coffer.shim.ttrpc;

/** gRPC status codes, which ttrpc carries in its responses and containerd maps to its errors (errdefs). */
public enum Code {
    OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
    RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS,
    UNAUTHENTICATED;

    /** The wire value: gRPC numbers its codes in exactly this order. */
    public int value() {
        return ordinal();
    }

    public static Code of(int value) {
        return value >= 0 && value < values().length ? values()[value] : UNKNOWN;
    }
}
