package dev.coffer.agent.protocol;

/** Exactly one of {@code result} and {@code error} is set. */
public record Response(int version, long id, Result result, Failure error) {

    public static Response ok(long id, Result result) {
        return new Response(Protocol.VERSION, id, result, null);
    }

    public static Response error(long id, Failure failure) {
        return new Response(Protocol.VERSION, id, null, failure);
    }

    public boolean ok() {
        return error == null;
    }

    /**
     * @param code one of {@link Failure#BAD_FRAME}, {@link Failure#BAD_JSON}, ... for programs
     * @param reason one line for people: what was expected, what was found, what to do
     */
    public record Failure(String code, String reason) {
        public static final String BAD_FRAME = "bad_frame";
        public static final String BAD_JSON = "bad_json";
        public static final String UNSUPPORTED_VERSION = "unsupported_version";
        public static final String INVALID_REQUEST = "invalid_request";
        public static final String DENIED = "denied";
        public static final String NOT_FOUND = "not_found";
        public static final String CONFLICT = "conflict";
        public static final String FAILED = "failed";
    }
}
