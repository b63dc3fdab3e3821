package dev.coffer.server;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import dev.coffer.server.store.KeyEncryptionKey;
import dev.coffer.server.store.StoreException;
import dev.coffer.server.store.VaultStore;
import dev.coffer.server.token.SigningKeyRing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The token-signing ring in the database: two replicas (two stores, two rings) on one real
 * PostgreSQL see one set of keys, a rotation is published before it signs, a retired key stays
 * published until its last token expires, and the sealed rows refuse a wrong KEK and tampering.
 */
class SharedSigningKeysTest {
    static final Duration LIFETIME = Duration.ofMinutes(10);

    @TempDir
    Path dir;

    @Test
    void replicasShareOneRingAndRotationIsPublishedBeforeItSigns() throws Exception {
        String db = PostgresServer.get().createDatabase();
        KeyEncryptionKey kek = KeyEncryptionKey.generate(dir.resolve("kek"));
        AdjustableClock clock = new AdjustableClock();
        try (VaultStore s1 = VaultStore.open(db, kek); VaultStore s2 = VaultStore.open(db, kek);
             SigningKeyRing r1 = SigningKeyRing.openShared(s1, null, LIFETIME, clock, true);
             SigningKeyRing r2 = SigningKeyRing.openShared(s2, null, LIFETIME, clock, true)) {
            assertEquals(kids(r1), kids(r2), "the second replica found the first one's keys instead of making its own");
            String oldEs = r1.active(JWSAlgorithm.ES256).kid();

            Instant before = clock.instant();
            Instant takeover = r1.rotate();
            Instant after = clock.instant();
            assertFalse(takeover.isBefore(before.plus(SigningKeyRing.REPLICA_PUBLISH_LEAD)), "new keys sign one publish lead later");
            assertFalse(takeover.isAfter(after.plus(SigningKeyRing.REPLICA_PUBLISH_LEAD)));
            r2.reload();
            assertEquals(kids(r1), kids(r2));
            assertEquals(4, kids(r2).size(), "old and new keys published");
            assertEquals(oldEs, r1.active(JWSAlgorithm.ES256).kid(), "the old key signs until the takeover");
            assertEquals(oldEs, r2.active(JWSAlgorithm.ES256).kid());

            clock.advance(SigningKeyRing.REPLICA_PUBLISH_LEAD.plusSeconds(1));
            String newEs = r1.active(JWSAlgorithm.ES256).kid();
            assertNotEquals(oldEs, newEs);
            assertEquals(newEs, r2.active(JWSAlgorithm.ES256).kid(), "both replicas switch at the same instant");
            assertTrue(r2.publicKey(oldEs).isPresent(), "the retired key verifies tokens it signed");

            clock.advance(LIFETIME.plus(SigningKeyRing.REPLICA_PUBLISH_LEAD));
            assertTrue(r2.publicKey(oldEs).isEmpty(), "dropped once its last token expired");
            r1.pruneExpired();
            r2.reload();
            assertEquals(2, kids(r2).size());
        }
    }

    @Test
    void concurrentRotationsNeverLeaveTwoActiveKeys() throws Exception {
        String db = PostgresServer.get().createDatabase();
        KeyEncryptionKey kek = KeyEncryptionKey.generate(dir.resolve("kek"));
        AdjustableClock clock = new AdjustableClock();
        try (VaultStore s1 = VaultStore.open(db, kek); VaultStore s2 = VaultStore.open(db, kek);
             SigningKeyRing r1 = SigningKeyRing.openShared(s1, null, LIFETIME, clock, false);
             SigningKeyRing r2 = SigningKeyRing.openShared(s2, null, LIFETIME, clock, false)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = List.of(r1, r2, r1, r2).stream().map(r -> Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    r.rotate();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            })).toList();
            go.countDown();
            for (Thread t : threads) t.join(120_000);
            r1.reload();
            // four rotations, serialized by the lock: each retired the keys before it, so exactly one per algorithm is unretired
            for (JWSAlgorithm alg : List.of(JWSAlgorithm.ES256, JWSAlgorithm.RS256)) {
                assertEquals(1, r1.entries().stream().filter(e -> e.alg().equals(alg) && e.retired() == null).count(), alg.getName());
            }
            assertEquals(10, r1.entries().size(), "the first two keys and two per rotation, all still published");
        }
    }

    @Test
    void sealedRowsRefuseAWrongKekAndTampering() throws Exception {
        String db = PostgresServer.get().createDatabase();
        KeyEncryptionKey kek = KeyEncryptionKey.generate(dir.resolve("kek"));
        try (VaultStore s = VaultStore.open(db, kek); SigningKeyRing r = SigningKeyRing.openShared(s, null, LIFETIME, java.time.Clock.systemUTC(), false)) {
            assertEquals(2, r.entries().size());
        }
        try (Connection c = DriverManager.getConnection(db); Statement st = c.createStatement();
             var rs = st.executeQuery("SELECT material FROM signing_keys LIMIT 1")) {
            assertTrue(rs.next());
            String stored = new String(rs.getBytes(1), java.nio.charset.StandardCharsets.ISO_8859_1);
            assertFalse(stored.contains("\"d\""), "the private key is sealed, not stored as JSON");
        }
        KeyEncryptionKey other = KeyEncryptionKey.generate(dir.resolve("other-kek"));
        try (VaultStore s = VaultStore.open(db, other)) {
            StoreException e = assertThrows(StoreException.class, () -> SigningKeyRing.openShared(s, null, LIFETIME, java.time.Clock.systemUTC(), false));
            assertTrue(e.getMessage().contains("every replica needs the same KEK"), e.getMessage());
        }
        try (Connection c = DriverManager.getConnection(db); Statement st = c.createStatement()) {
            // swap two rows' sealed material: each is bound to its own kid
            st.execute("UPDATE signing_keys SET material = (SELECT material FROM signing_keys ORDER BY kid LIMIT 1) "
                    + "WHERE kid = (SELECT kid FROM signing_keys ORDER BY kid DESC LIMIT 1)");
        }
        try (VaultStore s = VaultStore.open(db, kek)) {
            StoreException e = assertThrows(StoreException.class, () -> SigningKeyRing.openShared(s, null, LIFETIME, java.time.Clock.systemUTC(), false));
            assertTrue(e.getMessage().contains("integrity check"), e.getMessage());
        }
    }

    @Test
    void aFileRingOfAnEarlierVersionMovesIntoTheDatabaseOnce() throws Exception {
        Path legacy = dir.resolve("signing-keys.json");
        Set<String> before;
        try (SigningKeyRing file = SigningKeyRing.open(legacy, LIFETIME, java.time.Clock.systemUTC())) {
            before = kids(file);
        }
        KeyEncryptionKey kek = KeyEncryptionKey.generate(dir.resolve("kek"));
        try (VaultStore s = VaultStore.open(VaultStore.sqliteUrl(dir.resolve("vault.db")), kek);
             SigningKeyRing r = SigningKeyRing.openShared(s, legacy, LIFETIME, java.time.Clock.systemUTC(), false)) {
            assertEquals(before, kids(r), "tokens and pins made with the file's keys stay valid");
            assertFalse(Files.exists(legacy), "the clear-text key file is gone once its keys are sealed in the database");
        }
        try (VaultStore s = VaultStore.open(VaultStore.sqliteUrl(dir.resolve("vault.db")), kek);
             SigningKeyRing r = SigningKeyRing.openShared(s, legacy, LIFETIME, java.time.Clock.systemUTC(), false)) {
            assertEquals(before, kids(r), "and they are read back from the database");
        }
    }

    private static Set<String> kids(SigningKeyRing r) {
        return r.publicJwks().getKeys().stream().map(JWK::getKeyID).collect(Collectors.toCollection(java.util.TreeSet::new));
    }
}
