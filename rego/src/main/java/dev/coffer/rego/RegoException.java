package dev.coffer.rego;

/**
 * A compile or evaluation error with OPA's error code ({@code rego_parse_error},
 * {@code rego_compile_error}, {@code eval_type_error}, {@code eval_builtin_error},
 * {@code eval_conflict_error}, {@code eval_limit_error}, ...) and, when known, the place in
 * the policy as {@code module:line:column}. The message reads like OPA's
 * ({@code module:line: code: detail}, which tools and tests match on); {@link #located()}
 * adds the column.
 */
public class RegoException extends RuntimeException {
    private final String code;
    private final String location;
    private final String detail;

    public RegoException(String code, String location, String detail) {
        super((location == null ? "" : withoutColumn(location) + ": ") + code + ": " + detail);
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

    /** {@code module:line:column: code: detail}, for people reading errors in a terminal. */
    public String located() {
        return (location == null ? "" : location + ": ") + code + ": " + detail;
    }

    /** OPA names module and line only: "f.rego:4:2" becomes "f.rego:4". */
    private static String withoutColumn(String location) {
        int last = location.lastIndexOf(':');
        if (last <= 0) return location;
        int prev = location.lastIndexOf(':', last - 1);
        if (prev < 0) return location;
        for (int i = last + 1; i < location.length(); i++) if (!Character.isDigit(location.charAt(i))) return location;
        for (int i = prev + 1; i < last; i++) if (!Character.isDigit(location.charAt(i))) return location;
        return last + 1 < location.length() && last > prev + 1 ? location.substring(0, last) : location;
    }
}
