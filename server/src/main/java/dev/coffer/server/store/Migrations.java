package dev.coffer.server.store;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The schema, as an ordered list of migrations. A migration is only ever appended, never
 * edited once released: a store records the highest version it has applied and runs the
 * rest, inside the caller's transaction, so a failed upgrade leaves the old schema intact.
 */
final class Migrations {
    private Migrations() {}

    /** PostgreSQL advisory lock ids: schema upgrades, and changes to the token-signing keys. */
    static final long SCHEMA_LOCK = 7158339;
    static final long SIGNING_KEYS_LOCK = 7158340;

    static List<List<String>> all(Dialect d) {
        return List.of(
                // 1: keys, admin tokens, audit, reference values
                List.of(
                        "CREATE TABLE vault_keys (name VARCHAR(127) NOT NULL, version VARCHAR(32) NOT NULL, seq INTEGER NOT NULL, "
                                + "spec VARCHAR(16) NOT NULL, created_at BIGINT NOT NULL, exportable INTEGER NOT NULL, "
                                + "release_policy TEXT, policy_immutable INTEGER NOT NULL, public_jwk TEXT, kek_id VARCHAR(16) NOT NULL, "
                                + "material " + d.blob + " NOT NULL, PRIMARY KEY (name, version), UNIQUE (name, seq))",
                        "CREATE TABLE api_tokens (id VARCHAR(32) PRIMARY KEY, label VARCHAR(127) NOT NULL, "
                                + "token_hash VARCHAR(64) NOT NULL UNIQUE, created_at BIGINT NOT NULL)",
                        "CREATE TABLE release_audit (id " + d.autoId + ", at BIGINT NOT NULL, key_name VARCHAR(127) NOT NULL, "
                                + "key_version VARCHAR(32), jti VARCHAR(128), issuer VARCHAR(512), claims_digest VARCHAR(64), "
                                + "verdict VARCHAR(16) NOT NULL, code VARCHAR(64), reason TEXT NOT NULL)",
                        "CREATE INDEX release_audit_by_key ON release_audit (key_name, id)",
                        "CREATE TABLE reference_values (kind VARCHAR(32) NOT NULL, value VARCHAR(256) NOT NULL, note TEXT, "
                                + "created_at BIGINT NOT NULL, PRIMARY KEY (kind, value))"),
                // 2: guest endorsements registered with the service (COSE_Sign1 as received, with the facts parsed from it)
                List.of(
                        "CREATE TABLE guest_endorsements (digest VARCHAR(64) PRIMARY KEY, measurement VARCHAR(96) NOT NULL, "
                                + "issuer VARCHAR(2048) NOT NULL, feed VARCHAR(512) NOT NULL, svn VARCHAR(32) NOT NULL, "
                                + "cose " + d.blob + " NOT NULL, created_at BIGINT NOT NULL)",
                        "CREATE INDEX guest_endorsements_by_measurement ON guest_endorsements (measurement)"),
                // 3: token-signing keys shared by every replica (private JWK sealed under the KEK); a key
                // signs from activates_at until retired_at and is published until its last token expires
                List.of(
                        "CREATE TABLE signing_keys (kid VARCHAR(128) PRIMARY KEY, alg VARCHAR(16) NOT NULL, "
                                + "created_at BIGINT NOT NULL, activates_at BIGINT NOT NULL, retired_at BIGINT, "
                                + "kek_id VARCHAR(16) NOT NULL, material " + d.blob + " NOT NULL)"),
                // 4: each volume key's generation (freshness of its volume image); no row means 0
                List.of(
                        "CREATE TABLE volume_generations (key_name VARCHAR(127) PRIMARY KEY, generation BIGINT NOT NULL)"));
    }

    static void apply(Connection c, Dialect d) throws SQLException {
        try (Statement s = c.createStatement()) {
            if (d == Dialect.POSTGRESQL) {
                // Two servers starting on one empty database must not both create the schema.
                s.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
            }
            s.execute("CREATE TABLE IF NOT EXISTS coffer_schema (version INTEGER NOT NULL)");
            int current = 0;
            try (ResultSet rs = s.executeQuery("SELECT MAX(version) FROM coffer_schema")) {
                if (rs.next()) current = rs.getInt(1);
            }
            List<List<String>> all = all(d);
            if (current > all.size()) {
                throw new SQLException("the database schema is version " + current + " but this Coffer knows only up to "
                        + all.size() + "; upgrade Coffer");
            }
            for (int v = current + 1; v <= all.size(); v++) {
                for (String sql : all.get(v - 1)) s.execute(sql);
                s.execute("INSERT INTO coffer_schema (version) VALUES (" + v + ")");
            }
        }
    }
}
