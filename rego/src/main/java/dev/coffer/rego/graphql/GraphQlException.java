package dev.coffer.rego.graphql;

/**
 * A GraphQL document that does not parse or does not validate. The message and position follow
 * gqlparser's wording, which OPA's graphql built-ins pass through: "Expected Name, found &lt;EOF&gt;"
 * at line 1, column 2 (both 1-based, columns counted in characters).
 */
public final class GraphQlException extends RuntimeException {
    private final int line;
    private final int column;
    private final String detail;

    GraphQlException(String message, int line, int column) {
        this(message, line, column, null);
    }

    /** {@code detail} says more than gqlparser's message does (which lexical error an "Unexpected &lt;Invalid&gt;" is). */
    GraphQlException(String message, int line, int column, String detail) {
        super(message, null, false, false);
        this.line = line;
        this.column = column;
        this.detail = detail;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }

    /**
     * OPA's rendering: "{message} in GraphQL string at location {line}:{column}", the message
     * without a final period (not an ellipsis token; OPA's cases show gqlparser's validation messages that way).
     */
    public String describe() {
        String msg = getMessage();
        if (msg.endsWith(".") && !msg.endsWith("..")) msg = msg.substring(0, msg.length() - 1);
        String where = line > 0 ? msg + " in GraphQL string at location " + line + ":" + column : msg + " in GraphQL string";
        return detail == null ? where : where + " (" + detail + ")";
    }
}
