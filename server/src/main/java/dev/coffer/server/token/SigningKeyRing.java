package dev.coffer.server.token;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.coffer.server.http.Json;
import dev.coffer.server.store.StoreException;
import dev.coffer.server.store.StoredSigningKey;
import dev.coffer.server.store.VaultStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.function.UnaryOperator;
import java.util.logging.Logger;

/**
 * The token signing keys: one active ES256 key and one active RS256 key, so tokens stay
 * verifiable across restarts. Rotation makes a new active key and retires the old one; a
 * retired key stays in the JWKS until every token it signed has expired (retirement time +
 * token lifetime, + the publication lead), then it is dropped.
 *
 * <p>The keys live either in a file of one server's state (0600; {@link #open(Path, Duration, Clock)})
 * or in the vault's database, sealed under the key-encryption key ({@link #openShared}), where
 * every replica of the service reads the same ring. With replicas, a new key is published
 * {@link #REPLICA_PUBLISH_LEAD} before it signs anything, and every replica reloads the ring
 * every {@link #REFRESH_INTERVAL}: by the time any replica signs with a new key, every replica
 * (and every relying party that refetches the JWKS on an unknown kid) already knows it, so no
 * request fails for lack of a key during a rotation. Changes go through the store's signing-key
 * lock, so two replicas never rotate (or create the first keys) at once.
 */
public final class SigningKeyRing implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SigningKeyRing.class.getName());
    /** How often a replica reloads the shared ring. */
    public static final Duration REFRESH_INTERVAL = Duration.ofSeconds(2);
    /** How long before it signs a new key is published to the other replicas (three reloads). */
    public static final Duration REPLICA_PUBLISH_LEAD = REFRESH_INTERVAL.multipliedBy(3);

    /**
     * A signing key and its life cycle: it signs from {@code activates} until {@code retired}
     * (null: until a rotation retires it) and is published from creation until its last token expires.
     */
    public record Entry(JWK jwk, JWSAlgorithm alg, Instant created, Instant activates, Instant retired) {
        public String kid() {
            return jwk.getKeyID();
        }

        boolean signsAt(Instant t) {
            return !activates.isAfter(t) && (retired == null || retired.isAfter(t));
        }
    }

    /** Where the keys are kept: a file of one server, or the database every replica shares. */
    private sealed interface Storage permits FileStorage, DatabaseStorage {
        List<Entry> load();

        /** Applies {@code change} to the stored keys, one writer at a time; returns the stored result. */
        List<Entry> update(UnaryOperator<List<Entry>> change);
    }

    private record FileStorage(Path file) implements Storage {
        @Override
        public List<Entry> load() {
            return Files.exists(file) ? read(file) : List.of();
        }

        @Override
        public synchronized List<Entry> update(UnaryOperator<List<Entry>> change) {
            List<Entry> updated = List.copyOf(change.apply(load()));
            save(file, updated);
            return updated;
        }
    }

    private record DatabaseStorage(VaultStore store, Path legacyFile) implements Storage {
        @Override
        public List<Entry> load() {
            return store.signingKeys().stream().map(SigningKeyRing::fromStored).toList();
        }

        @Override
        public List<Entry> update(UnaryOperator<List<Entry>> change) {
            return store.updateSigningKeys(stored -> {
                List<Entry> current = stored.stream().map(SigningKeyRing::fromStored).toList();
                if (current.isEmpty() && legacyFile != null && Files.exists(legacyFile)) {
                    // A server that kept its keys in a file moves them into the database once,
                    // so the tokens it issued and the pins made from its keys stay valid.
                    current = read(legacyFile);
                }
                return change.apply(current).stream().map(SigningKeyRing::toStored).toList();
            }).stream().map(SigningKeyRing::fromStored).toList();
        }
    }

    private final Storage storage;
    private final Duration tokenLifetime;
    private final Duration publishLead;
    private final Clock clock;
    private volatile List<Entry> entries;
    private volatile Instant loadedAt;
    private final Thread refresher;
    private volatile boolean closed;

    private SigningKeyRing(Storage storage, Duration tokenLifetime, Duration publishLead, Clock clock, boolean refresh) {
        this.storage = storage;
        this.tokenLifetime = tokenLifetime;
        this.publishLead = publishLead;
        this.clock = clock;
        this.entries = List.copyOf(storage.update(this::withActiveKeys));
        this.loadedAt = clock.instant();
        this.refresher = refresh ? Thread.ofPlatform().daemon().name("coffer-signing-key-refresh").start(this::refreshLoop) : null;
    }

    /** Loads the ring from {@code file}, creating missing active keys (and the file) as needed. */
    public static SigningKeyRing open(Path file, Duration tokenLifetime, Clock clock) {
        return new SigningKeyRing(new FileStorage(file), tokenLifetime, Duration.ZERO, clock, false);
    }

    /**
     * The ring in the vault's database, creating missing active keys as needed (or moving the
     * keys of {@code legacyFile} in, when the database has none and that file exists; the file
     * is then deleted). With {@code replicated} (several servers on one database) new keys are
     * published ahead of use and the ring is reloaded in the background until {@link #close}.
     */
    public static SigningKeyRing openShared(VaultStore store, Path legacyFile, Duration tokenLifetime, Clock clock, boolean replicated) {
        SigningKeyRing ring = new SigningKeyRing(new DatabaseStorage(store, legacyFile), tokenLifetime,
                replicated ? REPLICA_PUBLISH_LEAD : Duration.ZERO, clock, replicated);
        if (legacyFile != null && Files.exists(legacyFile)) {
            try {
                Files.delete(legacyFile); // its keys are in the database now, sealed under the KEK
            } catch (IOException e) {
                LOG.warning("the signing keys of " + legacyFile + " are now in the database, but the file could not be deleted ("
                        + e.getMessage() + "); delete it: it holds private keys in the clear");
            }
        }
        return ring;
    }

    /** The keys wanted after {@code stored}: expired ones dropped, an active key for each algorithm. */
    private List<Entry> withActiveKeys(List<Entry> stored) {
        List<Entry> updated = new ArrayList<>(stored);
        prune(updated);
        Instant now = clock.instant();
        for (JWSAlgorithm alg : ALGORITHMS) {
            if (updated.stream().noneMatch(e -> e.alg.equals(alg) && e.retired == null)) {
                updated.add(generate(alg, now, now));
            }
        }
        return updated;
    }

    private static final List<JWSAlgorithm> ALGORITHMS = List.of(JWSAlgorithm.ES256, JWSAlgorithm.RS256);

    /**
     * The key signing with {@code alg} now. Should clocks of replicas disagree around a rotation,
     * the newest key already activated signs (its successor is published anyway).
     */
    public Entry active(JWSAlgorithm alg) {
        Instant now = clock.instant();
        Entry best = null;
        Entry newestStarted = null;
        Entry earliest = null;
        for (Entry e : entries) {
            if (!e.alg.equals(alg)) continue;
            if (e.signsAt(now) && (best == null || e.activates.isAfter(best.activates))) best = e;
            if (!e.activates.isAfter(now) && (newestStarted == null || e.activates.isAfter(newestStarted.activates))) newestStarted = e;
            if (earliest == null || e.activates.isBefore(earliest.activates)) earliest = e;
        }
        if (best != null) return best;
        if (newestStarted != null) return newestStarted;
        if (earliest != null) return earliest;
        throw new IllegalStateException("no " + alg + " signing key");
    }

    /**
     * Rotates both algorithms: new keys that sign from the returned instant on (now for one
     * server, {@link #REPLICA_PUBLISH_LEAD} later with replicas); the current ones retire then.
     */
    public synchronized Instant rotate() {
        Entry es = generate(JWSAlgorithm.ES256, clock.instant(), clock.instant());
        Entry rs = generate(JWSAlgorithm.RS256, clock.instant(), clock.instant());
        Instant[] at = new Instant[1];
        entries = List.copyOf(storage.update(stored -> {
            Instant now = clock.instant();
            Instant takeover = now.plus(publishLead);
            at[0] = takeover;
            List<Entry> updated = new ArrayList<>();
            for (Entry e : stored) {
                updated.add(e.retired == null ? new Entry(e.jwk, e.alg, e.created, e.activates, takeover) : e);
            }
            updated.add(new Entry(es.jwk, es.alg, now, takeover, null));
            updated.add(new Entry(rs.jwk, rs.alg, now, takeover, null));
            prune(updated);
            return updated;
        }));
        loadedAt = clock.instant();
        return at[0];
    }

    /** Drops retired keys whose tokens have all expired; call from time to time. */
    public synchronized void pruneExpired() {
        entries = List.copyOf(storage.update(stored -> {
            List<Entry> updated = new ArrayList<>(stored);
            prune(updated);
            return updated;
        }));
    }

    /** Rereads the stored ring (what another replica changed); keeps the keys it has when the store fails. */
    public void reload() {
        List<Entry> loaded = storage.load();
        boolean complete = ALGORITHMS.stream().allMatch(alg -> loaded.stream().anyMatch(e -> e.alg.equals(alg)));
        if (!complete) throw new IllegalStateException("the stored signing keys lack an algorithm; keeping the loaded ones");
        entries = List.copyOf(loaded);
        loadedAt = clock.instant();
    }

    /** When the ring was last read from (or written to) its store. */
    public Instant loadedAt() {
        return loadedAt;
    }

    /** Asks the background reload to run now (a kid we do not know may be a key another replica just made). */
    public void reloadSoon() {
        Thread t = refresher;
        if (t != null) LockSupport.unpark(t);
    }

    private static final long MIN_RELOAD_GAP_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(250);

    private void refreshLoop() {
        boolean failing = false;
        long lastLoad = System.nanoTime();
        while (!closed) {
            LockSupport.parkNanos(REFRESH_INTERVAL.toNanos());
            // woken early by unknown kids: at most four reloads a second, however many arrive
            long since = System.nanoTime() - lastLoad;
            if (since < MIN_RELOAD_GAP_NANOS) LockSupport.parkNanos(MIN_RELOAD_GAP_NANOS - since);
            if (closed) return;
            lastLoad = System.nanoTime();
            try {
                reload();
                if (failing) LOG.info("signing keys reloaded from the database again");
                failing = false;
            } catch (RuntimeException e) {
                if (!failing) LOG.warning("cannot reload the signing keys (" + e.getMessage() + "); signing with the loaded ones meanwhile");
                failing = true;
            }
        }
    }

    public List<Entry> entries() {
        return entries;
    }

    /** Public parts of every key that may still have valid tokens out there, and of keys about to sign. */
    public JWKSet publicJwks() {
        Instant now = clock.instant();
        List<JWK> keys = new ArrayList<>();
        for (Entry e : entries) {
            if (published(e, now)) keys.add(e.jwk.toPublicJWK());
        }
        return new JWKSet(keys);
    }

    public Optional<JWK> publicKey(String kid) {
        Instant now = clock.instant();
        for (Entry e : entries) {
            if (e.kid().equals(kid) && published(e, now)) return Optional.of(e.jwk.toPublicJWK());
        }
        reloadSoon();
        return Optional.empty();
    }

    private boolean published(Entry e, Instant now) {
        return e.retired == null || e.retired.plus(tokenLifetime).plus(publishLead).isAfter(now);
    }

    private void prune(List<Entry> list) {
        Instant now = clock.instant();
        list.removeIf(e -> !published(e, now));
    }

    @Override
    public void close() {
        closed = true;
        reloadSoon();
    }

    private static Entry fromStored(StoredSigningKey k) {
        try {
            JWK jwk = JWK.parse(k.privateJwk());
            if (!(jwk instanceof ECKey || jwk instanceof RSAKey) || !jwk.isPrivate() || !k.kid().equals(jwk.getKeyID())) {
                throw new StoreException("stored token-signing key " + k.kid() + " is not a private EC or RSA key with that kid", null);
            }
            return new Entry(jwk, JWSAlgorithm.parse(k.alg()), k.created(), k.activates(), k.retired());
        } catch (ParseException e) {
            throw new StoreException("stored token-signing key " + k.kid() + " is not a JWK: " + e.getMessage(), null);
        }
    }

    private static StoredSigningKey toStored(Entry e) {
        return new StoredSigningKey(e.kid(), e.alg.getName(), e.created, e.activates, e.retired, e.jwk.toJSONString());
    }

    private static Entry generate(JWSAlgorithm alg, Instant now, Instant activates) {
        try {
            JWK jwk = alg.equals(JWSAlgorithm.ES256)
                    ? new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(alg).keyIDFromThumbprint(true).generate()
                    : new RSAKeyGenerator(2048).keyUse(KeyUse.SIGNATURE).algorithm(alg).keyIDFromThumbprint(true).generate();
            return new Entry(jwk, alg, now, activates, null);
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate a " + alg + " signing key: " + e.getMessage(), e);
        }
    }

    private static void save(Path file, List<Entry> updated) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode keys = root.putArray("keys");
        for (Entry e : updated) {
            ObjectNode n = keys.addObject();
            n.put("alg", e.alg.getName());
            n.put("created", e.created.toString());
            n.put("activates", e.activates.toString());
            if (e.retired != null) n.put("retired", e.retired.toString());
            n.set("jwk", Json.MAPPER.valueToTree(e.jwk.toJSONObject()));
        }
        writePrivateFile(file, Json.string(root).getBytes(StandardCharsets.UTF_8));
    }

    private static List<Entry> read(Path file) {
        try {
            JsonNode root = Json.MAPPER.readTree(file.toFile());
            List<Entry> list = new ArrayList<>();
            for (JsonNode n : root.path("keys")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> jwkMap = Json.MAPPER.convertValue(n.get("jwk"), Map.class);
                JWK jwk = JWK.parse(jwkMap);
                if (!(jwk instanceof ECKey || jwk instanceof RSAKey) || !jwk.isPrivate()) {
                    throw new IOException("entry " + jwk.getKeyID() + " is not a private EC or RSA key");
                }
                Instant created = Instant.parse(n.path("created").asText());
                list.add(new Entry(jwk, JWSAlgorithm.parse(n.path("alg").asText()), created,
                        n.hasNonNull("activates") ? Instant.parse(n.get("activates").asText()) : created,
                        n.hasNonNull("retired") ? Instant.parse(n.get("retired").asText()) : null));
            }
            return list;
        } catch (IOException | ParseException | RuntimeException e) {
            throw new IllegalStateException("the signing key file " + file + " is unreadable (" + e.getMessage()
                    + "); restore it from backup, or move it away to start with new keys (outstanding tokens then fail)", e);
        }
    }

    /** Writes a secret file atomically with mode 0600 and fsyncs it before it replaces the old one. */
    public static void writePrivateFile(Path file, byte[] content) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(content));
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
