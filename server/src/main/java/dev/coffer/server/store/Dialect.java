package dev.coffer.server.store;

import java.sql.SQLException;

/** The two SQL databases the vault runs on, and the few places where their SQL differs. */
public enum Dialect {
    SQLITE("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    POSTGRESQL("BYTEA", "BIGSERIAL PRIMARY KEY");

    final String blob;
    final String autoId;

    Dialect(String blob, String autoId) {
        this.blob = blob;
        this.autoId = autoId;
    }

    public static Dialect of(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:sqlite:")) return SQLITE;
        if (jdbcUrl.startsWith("jdbc:postgresql:")) return POSTGRESQL;
        throw new IllegalArgumentException("unsupported database URL '" + redact(jdbcUrl)
                + "'; expected jdbc:sqlite:FILE or jdbc:postgresql://HOST:PORT/DB");
    }

    boolean isUniqueViolation(SQLException e) {
        return switch (this) {
            // SQLITE_CONSTRAINT (19), extended SQLITE_CONSTRAINT_PRIMARYKEY/UNIQUE share the low byte
            case SQLITE -> (e.getErrorCode() & 0xff) == 19 || String.valueOf(e.getMessage()).contains("UNIQUE constraint failed");
            case POSTGRESQL -> "23505".equals(e.getSQLState());
        };
    }

    /**
     * Whether a failure means the database could not be reached or is not accepting work right
     * now (connection lost or refused, server shutting down or starting, out of connections,
     * SQLite busy beyond its timeout), rather than a statement it refused.
     */
    boolean isUnavailable(java.sql.SQLException e) {
        String state = e.getSQLState();
        return switch (this) {
            case SQLITE -> (e.getErrorCode() & 0xff) == 5 || (e.getErrorCode() & 0xff) == 6; // SQLITE_BUSY, SQLITE_LOCKED
            case POSTGRESQL -> state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                    || state.equals("57P03") || state.equals("53300"));
        };
    }

    /** Whether the connection that raised {@code e} can no longer be used and must be replaced. */
    boolean isConnectionBroken(java.sql.SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.startsWith("08") || state.startsWith("57P"));
    }

    /** JDBC URLs may carry passwords; only scheme, host and database reach messages and logs. */
    public static String redact(String jdbcUrl) {
        int q = jdbcUrl.indexOf('?');
        String s = q < 0 ? jdbcUrl : jdbcUrl.substring(0, q) + "?...";
        return s.replaceAll("//[^/@]*@", "//***@");
    }
}
