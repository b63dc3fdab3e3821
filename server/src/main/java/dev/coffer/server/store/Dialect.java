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

    /** JDBC URLs may carry passwords; only scheme, host and database reach messages and logs. */
    public static String redact(String jdbcUrl) {
        int q = jdbcUrl.indexOf('?');
        String s = q < 0 ? jdbcUrl : jdbcUrl.substring(0, q) + "?...";
        return s.replaceAll("//[^/@]*@", "//***@");
    }
}
