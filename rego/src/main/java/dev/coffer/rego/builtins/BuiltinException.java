package dev.coffer.rego.builtins;

/**
 * A built-in rejected its operands. {@code code} is {@code eval_type_error} for operands of
 * the wrong type and {@code eval_builtin_error} otherwise, as in OPA.
 */
public final class BuiltinException extends RuntimeException {
    public static final String TYPE = "eval_type_error";
    public static final String BUILTIN = "eval_builtin_error";
    private final String code;

    public BuiltinException(String code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public String code() {
        return code;
    }

    public static BuiltinException builtin(String fn, String msg) {
        return new BuiltinException(BUILTIN, fn + ": " + msg);
    }

    public static BuiltinException type(String fn, String msg) {
        return new BuiltinException(TYPE, fn + ": " + msg);
    }
}
