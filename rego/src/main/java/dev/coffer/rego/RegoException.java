package dev.coffer.rego;

/**
 * A compile or evaluation error with OPA's error code ({@code rego_parse_error},
 * {@code rego_compile_error}, {@code eval_type_error}, {@code eval_builtin_error},
 * {@code eval_conflict_error}, {@code eval_limit_error}, ...) and, when known, the place in
 * the policy as {@code module:line:column}.
 */
public class RegoException extends RuntimeException {
    private final String code;
    private final String location;
    private final String detail;

    public RegoException(String code, String location, String detail) {
        super((location == null ? "" : location + ": ") + code + ": " + detail);
        this.code = code;
        this.location = location;
        this.detail = detail;
    }

    /** OPA's error code, e.g. {@code eval_conflict_error}. */
    public String code() {
        return code;
    }

    /** {@code module:line:column}, or null when the error has no place in a module. */
    public String location() {
        return location;
    }

    /** The message without code and location. */
    public String detail() {
        return detail;
    }
}
