package dev.coffer.server.store;

import javax.crypto.AEADBadTagException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * The vault's persistent state over JDBC: key versions (material sealed with the
 * {@link KeyEncryptionKey}), admin API token hashes, the release audit log and reference
 * values. One code path for SQLite (the default, a file under $COFFER_HOME) and PostgreSQL;
 * the schema is created and upgraded by {@link Migrations} when the store opens.
 */
public final class VaultStore implements AutoCloseable {
    private final Dialect dialect;
    private final ConnectionPool pool;
    private final KeyEncryptionKey kek;
    private final String description;

    private VaultStore(Dialect dialect, ConnectionPool pool, KeyEncryptionKey kek, String description) {
        this.dialect = dialect;
        this.pool = pool;
        this.kek = kek;
        this.description = description;
    }

    public static String sqliteUrl(Path file) {
        return "jdbc:sqlite:" + file.toAbsolutePath();
    }

    public static VaultStore open(String jdbcUrl, KeyEncryptionKey kek) {
        Dialect dialect = Dialect.of(jdbcUrl);
        try {
            if (dialect == Dialect.SQLITE) {
                Path file = Path.of(jdbcUrl.substring("jdbc:sqlite:".length()));
                if (file.getParent() != null) java.nio.file.Files.createDirectories(file.getParent());
            }
            ConnectionPool pool = new ConnectionPool(jdbcUrl, new Properties(), dialect, dialect == Dialect.SQLITE ? 4 : 8);
            VaultStore store = new VaultStore(dialect, pool, kek, dialect.name().toLowerCase() + " " + Dialect.redact(jdbcUrl));
            store.inTransaction(c -> {
                Migrations.apply(c, dialect);
                return null;
            });
            return store;
        } catch (SQLException | java.io.IOException e) {
            throw new StoreException("cannot open the key store " + Dialect.redact(jdbcUrl) + ": " + e.getMessage(), e);
        }
    }

    public Dialect dialect() {
        return dialect;
    }

    public String description() {
        return description;
    }

    public KeyEncryptionKey kek() {
        return kek;
    }

    // ---- keys -------------------------------------------------------------------------------

    /** Seals {@code material} and inserts a key version; the name+version or name+seq must be new. */
    public StoredKey insertKey(String name, String version, int seq, String spec, Instant created, boolean exportable,
                               String releasePolicy, boolean immutable, String publicJwk, byte[] material)
            throws DuplicateKeyException {
        byte[] sealed = kek.seal(name, version, material);
        StoredKey key = new StoredKey(name, version, seq, spec, created, exportable, releasePolicy, immutable,
                publicJwk, kek.id(), sealed);
        try {
            inTransaction(c -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO vault_keys (name, version, seq, spec, created_at, "
                        + "exportable, release_policy, policy_immutable, public_jwk, kek_id, material) VALUES (?,?,?,?,?,?,?,?,?,?,?)")) {
                    ps.setString(1, name);
                    ps.setString(2, version);
                    ps.setInt(3, seq);
                    ps.setString(4, spec);
                    ps.setLong(5, created.toEpochMilli());
                    ps.setInt(6, exportable ? 1 : 0);
                    ps.setString(7, releasePolicy);
                    ps.setInt(8, immutable ? 1 : 0);
                    ps.setString(9, publicJwk);
                    ps.setString(10, kek.id());
                    ps.setBytes(11, sealed);
                    ps.executeUpdate();
                }
                return null;
            });
        } catch (StoreException e) {
            if (e.getCause() instanceof SQLException sql && dialect.isUniqueViolation(sql)) {
                throw new DuplicateKeyException("key " + name + " version " + seq + " already exists");
            }
            throw e;
        }
        return key;
    }

    public Optional<StoredKey> latest(String name) {
        List<StoredKey> l = query("SELECT * FROM vault_keys WHERE name = ? ORDER BY seq DESC LIMIT 1", name);
        return l.isEmpty() ? Optional.empty() : Optional.of(l.getFirst());
    }

    public Optional<StoredKey> version(String name, String version) {
        List<StoredKey> l = query("SELECT * FROM vault_keys WHERE name = ? AND version = ?", name, version);
        return l.isEmpty() ? Optional.empty() : Optional.of(l.getFirst());
    }

    /** Every version of a key, oldest first. */
    public List<StoredKey> versions(String name) {
        return query("SELECT * FROM vault_keys WHERE name = ? ORDER BY seq", name);
    }

    /** The latest version of every key, by name. */
    public List<StoredKey> listLatest() {
        return query("SELECT k.* FROM vault_keys k JOIN (SELECT name, MAX(seq) AS seq FROM vault_keys GROUP BY name) m "
                + "ON k.name = m.name AND k.seq = m.seq ORDER BY k.name");
    }

    /** Deletes every version of a key, and its volume generation: a new key of the same name starts at 0. */
    public int deleteKey(String name) {
        return inTransaction(c -> {
            try (PreparedStatement gen = c.prepareStatement("DELETE FROM volume_generations WHERE key_name = ?");
                 PreparedStatement ps = c.prepareStatement("DELETE FROM vault_keys WHERE name = ?")) {
                gen.setString(1, name);
                gen.executeUpdate();
                ps.setString(1, name);
                return ps.executeUpdate();
            }
        });
    }

    // ---- volume generations -------------------------------------------------------------------

    /** The volume generation of key {@code name}: 0 until it is first advanced. */
    public long generation(String name) {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT generation FROM volume_generations WHERE key_name = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getLong(1) : 0L;
                }
            }
        });
    }

    /**
     * Compare-and-set: moves key {@code name}'s generation from {@code expected} to {@code next}
     * and returns true, or changes nothing and returns false when it is not {@code expected}
     * (another session advanced it). One statement decides, so two replicas on one PostgreSQL
     * database, or two requests racing, cannot both succeed from the same value. Only forward.
     */
    public boolean advanceGeneration(String name, long expected, long next) {
        if (expected < 0 || next <= expected) {
            throw new IllegalArgumentException("a generation only moves forward: expected " + expected + " < next " + next);
        }
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE volume_generations SET generation = ? WHERE key_name = ? AND generation = ?")) {
                ps.setLong(1, next);
                ps.setString(2, name);
                ps.setLong(3, expected);
                if (ps.executeUpdate() == 1) return true;
            }
            if (expected != 0) return false;
            // no row is generation 0; the first advance creates it, unless a racing one just did
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO volume_generations (key_name, generation) VALUES (?, ?) ON CONFLICT (key_name) DO NOTHING")) {
                ps.setString(1, name);
                ps.setLong(2, next);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Sets the policy of one version unless that version's policy is immutable; false if it was. */
    public boolean updatePolicy(String name, String version, String releasePolicy, boolean immutable) {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE vault_keys SET release_policy = ?, policy_immutable = ? "
                    + "WHERE name = ? AND version = ? AND policy_immutable = 0")) {
                ps.setString(1, releasePolicy);
                ps.setInt(2, immutable ? 1 : 0);
                ps.setString(3, name);
                ps.setString(4, version);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Opens a key's sealed material; fails clearly when the configured KEK is not the one that sealed it. */
    public byte[] material(StoredKey key) {
        if (!key.kekId().equals(kek.id())) {
            throw new StoreException("key " + key.name() + "/" + key.version() + " was sealed with key-encryption key "
                    + key.kekId() + " but the server runs with " + kek.id() + "; configure the original KEK", null);
        }
        try {
            return kek.open(key.name(), key.version(), key.sealedMaterial());
        } catch (AEADBadTagException e) {
            throw new StoreException("the sealed material of key " + key.name() + "/" + key.version()
                    + " fails its integrity check: the database row was altered", null);
        }
    }

    private List<StoredKey> query(String sql, Object... args) {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) ps.setObject(i + 1, args[i]);
                List<StoredKey> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new StoredKey(rs.getString("name"), rs.getString("version"), rs.getInt("seq"),
                                rs.getString("spec"), Instant.ofEpochMilli(rs.getLong("created_at")), rs.getInt("exportable") != 0,
                                rs.getString("release_policy"), rs.getInt("policy_immutable") != 0, rs.getString("public_jwk"),
                                rs.getString("kek_id"), rs.getBytes("material")));
                    }
                }
                return out;
            }
        });
    }

    // ---- admin API tokens -------------------------------------------------------------------

    public void insertApiToken(String id, String label, String tokenHash, Instant created) {
        inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO api_tokens (id, label, token_hash, created_at) VALUES (?,?,?,?)")) {
                ps.setString(1, id);
                ps.setString(2, label);
                ps.setString(3, tokenHash);
                ps.setLong(4, created.toEpochMilli());
                ps.executeUpdate();
            }
            return null;
        });
    }

    public List<String> apiTokenHashes() {
        return inTransaction(c -> {
            List<String> out = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT token_hash FROM api_tokens")) {
                while (rs.next()) out.add(rs.getString(1));
            }
            return out;
        });
    }

    /** Admin tokens without their hashes: id (the hash's first 16 hex digits), label, created. */
    public List<String[]> apiTokens() {
        return inTransaction(c -> {
            List<String[]> out = new ArrayList<>();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, label, created_at FROM api_tokens ORDER BY created_at, id")) {
                while (rs.next()) out.add(new String[] {rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)).toString()});
            }
            return out;
        });
    }

    public boolean apiTokenExists(String tokenHash) {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM api_tokens WHERE token_hash = ?")) {
                ps.setString(1, tokenHash);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next();
                }
            }
        });
    }

    /**
     * Deletes one admin token, unless it is the last one (which would lock every administrator
     * out). Returns false when no token has that id; throws {@link IllegalStateException} for the last.
     */
    public boolean deleteApiToken(String id) {
        return inTransaction(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM api_tokens")) {
                rs.next();
                int count = rs.getInt(1);
                try (PreparedStatement exists = c.prepareStatement("SELECT 1 FROM api_tokens WHERE id = ?")) {
                    exists.setString(1, id);
                    try (ResultSet e = exists.executeQuery()) {
                        if (!e.next()) return false;
                    }
                }
                if (count <= 1) throw new IllegalStateException("admin token " + id + " is the last one");
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM api_tokens WHERE id = ?")) {
                ps.setString(1, id);
                return ps.executeUpdate() > 0;
            }
        });
    }

    // ---- guest endorsements --------------------------------------------------------------------

    /** Stores an endorsement (replacing one with the same digest); returns false when it was already stored. */
    public boolean putEndorsement(StoredEndorsement e) {
        return inTransaction(c -> {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM guest_endorsements WHERE digest = ?");
                 PreparedStatement ps = c.prepareStatement("INSERT INTO guest_endorsements (digest, measurement, issuer, feed, svn, "
                         + "cose, created_at) VALUES (?,?,?,?,?,?,?)")) {
                del.setString(1, e.digest());
                boolean existed = del.executeUpdate() > 0;
                ps.setString(1, e.digest());
                ps.setString(2, e.measurement());
                ps.setString(3, e.issuer());
                ps.setString(4, e.feed());
                ps.setString(5, e.svn());
                ps.setBytes(6, e.cose());
                ps.setLong(7, e.created().toEpochMilli());
                ps.executeUpdate();
                return !existed;
            }
        });
    }

    public boolean removeEndorsement(String digest) {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM guest_endorsements WHERE digest = ?")) {
                ps.setString(1, digest);
                return ps.executeUpdate() > 0;
            }
        });
    }

    /** All registered endorsements, or only those for one MEASUREMENT (lower-case hex) when it is not null. */
    public List<StoredEndorsement> endorsements(String measurement) {
        return inTransaction(c -> {
            String sql = "SELECT digest, measurement, issuer, feed, svn, cose, created_at FROM guest_endorsements"
                    + (measurement == null ? "" : " WHERE measurement = ?") + " ORDER BY created_at, digest";
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                if (measurement != null) ps.setString(1, measurement);
                List<StoredEndorsement> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new StoredEndorsement(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getBytes(6), Instant.ofEpochMilli(rs.getLong(7))));
                    }
                }
                return out;
            }
        });
    }

    // ---- audit --------------------------------------------------------------------------------

    public void appendAudit(AuditEntry e) {
        appendAudit(List.of(e));
    }

    /** Appends several entries in one transaction (one sync), in order. */
    public void appendAudit(List<AuditEntry> entries) {
        inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO release_audit (at, key_name, key_version, jti, issuer, "
                    + "claims_digest, verdict, code, reason) VALUES (?,?,?,?,?,?,?,?,?)")) {
              for (AuditEntry e : entries) {
                ps.setLong(1, e.at().toEpochMilli());
                ps.setString(2, e.keyName());
                ps.setString(3, e.keyVersion());
                ps.setString(4, e.jti());
                ps.setString(5, e.issuer());
                ps.setString(6, e.claimsDigest());
                ps.setString(7, e.verdict());
                ps.setString(8, e.code());
                ps.setString(9, e.reason().length() > 2000 ? e.reason().substring(0, 2000) : e.reason());
                ps.addBatch();
              }
              ps.executeBatch();
            }
            return null;
        });
    }

    /** The newest {@code limit} entries, optionally for one key, newest first. */
    public List<AuditEntry> audit(String keyName, int limit) {
        return inTransaction(c -> {
            String sql = "SELECT * FROM release_audit " + (keyName == null ? "" : "WHERE key_name = ? ") + "ORDER BY id DESC LIMIT ?";
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                if (keyName != null) ps.setString(i++, keyName);
                ps.setInt(i, limit);
                List<AuditEntry> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new AuditEntry(rs.getLong("id"), Instant.ofEpochMilli(rs.getLong("at")), rs.getString("key_name"),
                                rs.getString("key_version"), rs.getString("jti"), rs.getString("issuer"),
                                rs.getString("claims_digest"), rs.getString("verdict"), rs.getString("code"), rs.getString("reason")));
                    }
                }
                return out;
            }
        });
    }

    // ---- reference values ---------------------------------------------------------------------

    public void addReferenceValue(String kind, String value, String note, Instant at) {
        inTransaction(c -> {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM reference_values WHERE kind = ? AND value = ?");
                 PreparedStatement ps = c.prepareStatement(
                         "INSERT INTO reference_values (kind, value, note, created_at) VALUES (?,?,?,?)")) {
                del.setString(1, kind);
                del.setString(2, value);
                del.executeUpdate();
                ps.setString(1, kind);
                ps.setString(2, value);
                ps.setString(3, note);
                ps.setLong(4, at.toEpochMilli());
                ps.executeUpdate();
            }
            return null;
        });
    }

    public boolean removeReferenceValue(String kind, String value) {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM reference_values WHERE kind = ? AND value = ?")) {
                ps.setString(1, kind);
                ps.setString(2, value);
                return ps.executeUpdate() > 0;
            }
        });
    }

    public List<String> referenceValues(String kind) {
        return inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT value FROM reference_values WHERE kind = ? ORDER BY value")) {
                ps.setString(1, kind);
                List<String> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) out.add(rs.getString(1));
                }
                return out;
            }
        });
    }

    // ---- token-signing keys -------------------------------------------------------------------

    /** Every stored token-signing key, opened; oldest first. */
    public List<StoredSigningKey> signingKeys() {
        return inTransaction(this::readSigningKeys);
    }

    /**
     * Changes the token-signing keys as one replica at a time: under a lock every replica takes
     * (an advisory lock on PostgreSQL, the write lock on SQLite), {@code change} sees the stored
     * keys and returns the keys wanted; new ones are inserted (sealed), changed retirements
     * updated, missing ones deleted, all in one transaction. Returns what is stored afterwards.
     * {@code change} must not have side effects: it runs inside the transaction.
     */
    public List<StoredSigningKey> updateSigningKeys(java.util.function.UnaryOperator<List<StoredSigningKey>> change) {
        return inTransaction(c -> {
            try (Statement s = c.createStatement()) {
                if (dialect == Dialect.POSTGRESQL) {
                    s.execute("SELECT pg_advisory_xact_lock(" + Migrations.SIGNING_KEYS_LOCK + ")");
                } else {
                    // a write first: SQLite then holds its write lock for the whole read-modify-write
                    s.executeUpdate("DELETE FROM signing_keys WHERE 1 = 0");
                }
            }
            List<StoredSigningKey> before = readSigningKeys(c);
            List<StoredSigningKey> after = List.copyOf(change.apply(before));
            java.util.Map<String, StoredSigningKey> old = new java.util.HashMap<>();
            for (StoredSigningKey k : before) old.put(k.kid(), k);
            java.util.Set<String> kept = new java.util.HashSet<>();
            for (StoredSigningKey k : after) {
                kept.add(k.kid());
                StoredSigningKey was = old.get(k.kid());
                if (was == null) {
                    insertSigningKey(c, k);
                } else if (!java.util.Objects.equals(was.retired(), k.retired())) {
                    try (PreparedStatement ps = c.prepareStatement("UPDATE signing_keys SET retired_at = ? WHERE kid = ?")) {
                        if (k.retired() == null) ps.setNull(1, java.sql.Types.BIGINT);
                        else ps.setLong(1, k.retired().toEpochMilli());
                        ps.setString(2, k.kid());
                        ps.executeUpdate();
                    }
                }
            }
            for (StoredSigningKey k : before) {
                if (kept.contains(k.kid())) continue;
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM signing_keys WHERE kid = ?")) {
                    ps.setString(1, k.kid());
                    ps.executeUpdate();
                }
            }
            return after;
        });
    }

    private void insertSigningKey(Connection c, StoredSigningKey k) throws SQLException {
        byte[] plain = k.privateJwk().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO signing_keys (kid, alg, created_at, activates_at, retired_at, "
                + "kek_id, material) VALUES (?,?,?,?,?,?,?)")) {
            ps.setString(1, k.kid());
            ps.setString(2, k.alg());
            ps.setLong(3, k.created().toEpochMilli());
            ps.setLong(4, k.activates().toEpochMilli());
            if (k.retired() == null) ps.setNull(5, java.sql.Types.BIGINT);
            else ps.setLong(5, k.retired().toEpochMilli());
            ps.setString(6, kek.id());
            ps.setBytes(7, kek.sealSigningKey(k.kid(), plain));
            ps.executeUpdate();
        } finally {
            java.util.Arrays.fill(plain, (byte) 0);
        }
    }

    private List<StoredSigningKey> readSigningKeys(Connection c) throws SQLException {
        List<StoredSigningKey> out = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT kid, alg, created_at, activates_at, retired_at, kek_id, material FROM signing_keys ORDER BY created_at, kid")) {
            while (rs.next()) {
                String kid = rs.getString(1);
                String kekId = rs.getString(6);
                if (!kekId.equals(kek.id())) {
                    throw new StoreException("token-signing key " + kid + " was sealed with key-encryption key " + kekId
                            + " but this server runs with " + kek.id() + "; every replica needs the same KEK (--kek-file or $"
                            + KeyEncryptionKey.ENV + ")", null);
                }
                byte[] plain;
                try {
                    plain = kek.openSigningKey(kid, rs.getBytes(7));
                } catch (AEADBadTagException e) {
                    throw new StoreException("the sealed token-signing key " + kid + " fails its integrity check: the database row was altered", null);
                }
                long retired = rs.getLong(5);
                Instant retiredAt = rs.wasNull() ? null : Instant.ofEpochMilli(retired);
                out.add(new StoredSigningKey(kid, rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)),
                        Instant.ofEpochMilli(rs.getLong(4)), retiredAt, new String(plain, java.nio.charset.StandardCharsets.UTF_8)));
                java.util.Arrays.fill(plain, (byte) 0);
            }
        }
        return out;
    }

    // ---- health -------------------------------------------------------------------------------

    /** One round trip to the database; throws {@link StoreException} (unavailable) when it does not answer. */
    public void ping() {
        inTransaction(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                rs.next();
            }
            return null;
        });
    }

    /** Open and idle database connections, for the metrics page. */
    public int openConnections() {
        return pool.openCount();
    }

    public int idleConnections() {
        return pool.idleCount();
    }

    // ---- plumbing -----------------------------------------------------------------------------

    @FunctionalInterface
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    <T> T inTransaction(Work<T> work) {
        Connection c;
        try {
            c = pool.borrow();
        } catch (SQLException e) {
            throw new StoreException("the key store (" + description + ") is unavailable: " + e.getMessage()
                    + "; retry once the database is reachable", e, true);
        }
        boolean broken = false;
        try {
            c.setAutoCommit(false);
            T result = work.run(c);
            c.commit();
            return result;
        } catch (SQLException e) {
            try {
                c.rollback();
            } catch (SQLException rollbackFailed) {
                broken = true;
            }
            if (dialect.isConnectionBroken(e)) broken = true;
            if (dialect.isUnavailable(e) || broken) {
                // Nothing was acknowledged: if the commit itself was lost the caller hears 503 and retries.
                throw new StoreException("the key store (" + description + ") is unavailable: " + e.getMessage()
                        + "; retry once the database is reachable", e, true);
            }
            throw new StoreException("key store operation failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // the work refused to go on: nothing it did may reach the next borrower's transaction
            try {
                c.rollback();
            } catch (SQLException rollbackFailed) {
                broken = true;
            }
            throw e;
        } finally {
            pool.giveBack(c, broken);
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
