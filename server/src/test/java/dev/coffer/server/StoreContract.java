package dev.coffer.server;

import dev.coffer.server.store.AuditEntry;
import dev.coffer.server.store.DuplicateKeyException;
import dev.coffer.server.store.KeyEncryptionKey;
import dev.coffer.server.store.StoreException;
import dev.coffer.server.store.StoredKey;
import dev.coffer.server.store.VaultStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/** The same store suite for every database: subclasses say where the database is. */
abstract class StoreContract {
    static final byte[] KEK_BYTES = Fixture.bytes(32, 7);
    VaultStore store;
    String url;

    abstract String newDatabaseUrl() throws Exception;

    @BeforeEach
    void open() throws Exception {
        url = newDatabaseUrl();
        store = VaultStore.open(url, KeyEncryptionKey.of(KEK_BYTES));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private StoredKey insert(String name, String version, int seq, byte[] material) throws DuplicateKeyException {
        return store.insertKey(name, version, seq, "oct-256", Instant.now().truncatedTo(ChronoUnit.MILLIS), true,
                "{\"version\":\"1.0.0\"}", false, null, material);
    }

    private static String v(int i) {
        return String.format("%032x", i);
    }

    @Test
    void migrationsAreIdempotentAcrossReopens() {
        store.close();
        store = VaultStore.open(url, KeyEncryptionKey.of(KEK_BYTES));
        store.close();
        store = VaultStore.open(url, KeyEncryptionKey.of(KEK_BYTES));
        assertTrue(store.listLatest().isEmpty());
    }

    @Test
    void volumeGenerationsMoveOnlyForwardByCompareAndSetAndArePersisted() throws Exception {
        assertEquals(0, store.generation("vol"), "no row is generation 0");
        assertTrue(store.advanceGeneration("vol", 0, 1));
        assertFalse(store.advanceGeneration("vol", 0, 1), "a second advance from 0 finds 1");
        assertFalse(store.advanceGeneration("vol", 5, 6), "an expected value the store does not hold changes nothing");
        assertEquals(1, store.generation("vol"));
        assertTrue(store.advanceGeneration("vol", 1, 3));
        assertThrows(IllegalArgumentException.class, () -> store.advanceGeneration("vol", 3, 3));
        assertThrows(IllegalArgumentException.class, () -> store.advanceGeneration("vol", 3, 2));
        assertEquals(0, store.generation("other"), "per key");
        // racing advances from one value: exactly one wins, from 0 (insert) and from a stored value (update)
        for (long from : new long[] {0, 3}) {
            String name = from == 0 ? "raced" : "vol";
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Boolean>> tries = new ArrayList<>();
                for (int i = 0; i < 8; i++) tries.add(pool.submit(() -> store.advanceGeneration(name, from, from + 1)));
                int won = 0;
                for (Future<Boolean> f : tries) if (f.get()) won++;
                assertEquals(1, won, "racing compare-and-sets from " + from);
                assertEquals(from + 1, store.generation(name));
            } finally {
                pool.shutdown();
            }
        }
        store.close();
        store = VaultStore.open(url, KeyEncryptionKey.of(KEK_BYTES));
        assertEquals(4, store.generation("vol"), "persisted across a reopen");
        insert("vol", v(9), 1, Fixture.bytes(32, 9));
        store.deleteKey("vol");
        assertEquals(0, store.generation("vol"), "a deleted key's generation goes with it");
    }

    @Test
    void keyVersionsRoundTripAndLatestIsTheHighestSequence() throws Exception {
        insert("k", v(1), 1, Fixture.bytes(32, 1));
        insert("k", v(2), 2, Fixture.bytes(32, 2));
        insert("other", v(3), 1, Fixture.bytes(32, 3));
        StoredKey latest = store.latest("k").orElseThrow();
        assertEquals(v(2), latest.version());
        assertArrayEquals(Fixture.bytes(32, 2), store.material(latest));
        assertArrayEquals(Fixture.bytes(32, 1), store.material(store.version("k", v(1)).orElseThrow()));
        assertEquals(List.of(v(1), v(2)), store.versions("k").stream().map(StoredKey::version).toList());
        assertEquals(List.of("k", "other"), store.listLatest().stream().map(StoredKey::name).toList());
        assertTrue(store.latest("missing").isEmpty());
        assertEquals(2, store.deleteKey("k"));
        assertTrue(store.latest("k").isEmpty());
    }

    @Test
    void duplicateNamesAndSequencesAreRefusedWithoutChangingState() throws Exception {
        insert("dup", v(1), 1, Fixture.bytes(32, 1));
        assertThrows(DuplicateKeyException.class, () -> insert("dup", v(2), 1, Fixture.bytes(32, 9)));
        assertThrows(DuplicateKeyException.class, () -> insert("dup", v(1), 2, Fixture.bytes(32, 9)));
        assertEquals(1, store.versions("dup").size());
        assertArrayEquals(Fixture.bytes(32, 1), store.material(store.latest("dup").orElseThrow()));
    }

    @Test
    void materialIsSealedAtRestAndBoundToItsRow() throws Exception {
        byte[] secret = Fixture.bytes(32, 0x42);
        insert("sealed", v(1), 1, secret);
        insert("sealed2", v(2), 1, Fixture.bytes(32, 0x43));
        byte[] raw;
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("SELECT material FROM vault_keys WHERE name = 'sealed'")) {
            ResultSet rs = ps.executeQuery();
            assertTrue(rs.next());
            raw = rs.getBytes(1);
        }
        assertFalse(indexOf(raw, secret) >= 0, "plaintext key material must not be stored");
        assertEquals(12 + 32 + 16, raw.length);
        // Moving a ciphertext to another row is detected (the AAD binds name and version).
        try (Connection c = DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement("UPDATE vault_keys SET material = ? WHERE name = 'sealed2'")) {
            ps.setBytes(1, raw);
            ps.executeUpdate();
        }
        StoreException swapped = assertThrows(StoreException.class, () -> store.material(store.latest("sealed2").orElseThrow()));
        assertTrue(swapped.getMessage().contains("integrity"), swapped.getMessage());
        // A server started with another KEK says so instead of failing obscurely.
        store.close();
        store = VaultStore.open(url, KeyEncryptionKey.of(Fixture.bytes(32, 8)));
        StoreException wrongKek = assertThrows(StoreException.class, () -> store.material(store.latest("sealed").orElseThrow()));
        assertTrue(wrongKek.getMessage().contains("key-encryption key"), wrongKek.getMessage());
        assertFalse(wrongKek.getMessage().contains(java.util.HexFormat.of().formatHex(KEK_BYTES)));
    }

    @Test
    void immutablePoliciesCannotBeChanged() throws Exception {
        insert("p", v(1), 1, Fixture.bytes(32, 1));
        assertTrue(store.updatePolicy("p", v(1), "{\"version\":\"1.0.2\"}", true));
        assertFalse(store.updatePolicy("p", v(1), "{\"version\":\"1.0.0\"}", false));
        StoredKey k = store.latest("p").orElseThrow();
        assertEquals("{\"version\":\"1.0.2\"}", k.releasePolicy());
        assertTrue(k.policyImmutable());
    }

    @Test
    void auditIsNewestFirstAndFilterable() {
        for (int i = 0; i < 5; i++) {
            store.appendAudit(new AuditEntry(0, Instant.now(), i % 2 == 0 ? "a" : "b", null, "jti-" + i, "iss", "d",
                    i == 4 ? "released" : "denied", i == 4 ? null : "release_denied", "reason " + i));
        }
        List<AuditEntry> all = store.audit(null, 10);
        assertEquals(5, all.size());
        assertEquals("jti-4", all.getFirst().jti());
        assertEquals(List.of("jti-4", "jti-2", "jti-0"), store.audit("a", 10).stream().map(AuditEntry::jti).toList());
        assertEquals(1, store.audit("b", 1).size());
    }

    @Test
    void apiTokensAndReferenceValuesPersist() {
        store.insertApiToken("id1", "label", "ab".repeat(32), Instant.now());
        assertEquals(List.of("ab".repeat(32)), store.apiTokenHashes());
        store.addReferenceValue("measurement", "cd".repeat(48), null, Instant.now());
        store.addReferenceValue("measurement", "cd".repeat(48), "again", Instant.now());
        assertEquals(List.of("cd".repeat(48)), store.referenceValues("measurement"));
        assertTrue(store.removeReferenceValue("measurement", "cd".repeat(48)));
        assertTrue(store.referenceValues("measurement").isEmpty());
    }

    @Test
    void apiTokensAreRevokedButNeverTheLast() {
        store.insertApiToken("aaaaaaaaaaaaaaaa", "first", "aa".repeat(32), Instant.now());
        store.insertApiToken("bbbbbbbbbbbbbbbb", "second", "bb".repeat(32), Instant.now());
        assertEquals(2, store.apiTokens().size());
        assertTrue(store.apiTokenExists("aa".repeat(32)));
        assertTrue(store.deleteApiToken("aaaaaaaaaaaaaaaa"));
        assertFalse(store.apiTokenExists("aa".repeat(32)));
        assertFalse(store.deleteApiToken("aaaaaaaaaaaaaaaa"), "already revoked");
        assertThrows(IllegalStateException.class, () -> store.deleteApiToken("bbbbbbbbbbbbbbbb"));
        assertTrue(store.apiTokenExists("bb".repeat(32)), "the last token survives a refused revocation");
    }

    @Test
    void guestEndorsementsPersistByDigestAndMeasurement() {
        byte[] cose = Fixture.bytes(300, 0x5c);
        Instant at = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        var e = new dev.coffer.server.store.StoredEndorsement("ee".repeat(32), "11".repeat(48), "did:x509:0:sha256:x::eku:1.2",
                "coffer-guest", "3", cose, at);
        assertTrue(store.putEndorsement(e));
        assertFalse(store.putEndorsement(e), "the same document again is not a second endorsement");
        assertEquals(1, store.endorsements(null).size());
        var found = store.endorsements("11".repeat(48));
        assertEquals(1, found.size());
        assertArrayEquals(cose, found.getFirst().cose());
        assertEquals(at, found.getFirst().created());
        assertTrue(store.endorsements("22".repeat(48)).isEmpty());
        assertTrue(store.removeEndorsement("ee".repeat(32)));
        assertFalse(store.removeEndorsement("ee".repeat(32)));
        assertTrue(store.endorsements(null).isEmpty());
    }

    @Test
    void concurrentCreationsAllLand() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                for (int i = 0; i < 25; i++) {
                    insert("c-" + thread + "-" + i, v(thread * 1000 + i), 1, Fixture.bytes(32, i));
                }
                return null;
            }));
        }
        for (Future<?> f : futures) f.get();
        pool.shutdown();
        Set<String> names = new HashSet<>();
        for (StoredKey k : store.listLatest()) names.add(k.name());
        assertEquals(200, names.size());
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
