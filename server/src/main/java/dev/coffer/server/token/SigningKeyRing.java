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

/**
 * The token signing keys: one active ES256 key and one active RS256 key, persisted (private
 * parts included, file mode 0600) so tokens stay verifiable across restarts. Rotation makes
 * a new active key and retires the old one; a retired key stays in the JWKS until every token
 * it signed has expired (retirement time + token lifetime), then it is dropped.
 */
public final class SigningKeyRing {
    /** A signing key and its life cycle; {@code retired} is null while it is the active key. */
    public record Entry(JWK jwk, JWSAlgorithm alg, Instant created, Instant retired) {
        public String kid() {
            return jwk.getKeyID();
        }
    }

    private final Path file;
    private final Duration tokenLifetime;
    private final Clock clock;
    private volatile List<Entry> entries;

    private SigningKeyRing(Path file, Duration tokenLifetime, Clock clock, List<Entry> entries) {
        this.file = file;
        this.tokenLifetime = tokenLifetime;
        this.clock = clock;
        this.entries = List.copyOf(entries);
    }

    /** Loads the ring from {@code file}, creating missing active keys (and the file) as needed. */
    public static SigningKeyRing open(Path file, Duration tokenLifetime, Clock clock) {
        List<Entry> entries = Files.exists(file) ? read(file) : new ArrayList<>();
        SigningKeyRing ring = new SigningKeyRing(file, tokenLifetime, clock, entries);
        synchronized (ring) {
            List<Entry> updated = new ArrayList<>(ring.entries);
            boolean changed = ring.prune(updated);
            for (JWSAlgorithm alg : List.of(JWSAlgorithm.ES256, JWSAlgorithm.RS256)) {
                if (updated.stream().noneMatch(e -> e.alg.equals(alg) && e.retired == null)) {
                    updated.add(generate(alg, clock.instant()));
                    changed = true;
                }
            }
            if (changed) ring.save(updated);
        }
        return ring;
    }

    public Entry active(JWSAlgorithm alg) {
        for (Entry e : entries) {
            if (e.alg.equals(alg) && e.retired == null) return e;
        }
        throw new IllegalStateException("no active " + alg + " signing key");
    }

    /** Rotates both algorithms: new active keys, the previous ones retire now. */
    public synchronized void rotate() {
        Instant now = clock.instant();
        List<Entry> updated = new ArrayList<>();
        for (Entry e : entries) {
            updated.add(e.retired == null ? new Entry(e.jwk, e.alg, e.created, now) : e);
        }
        updated.add(generate(JWSAlgorithm.ES256, now));
        updated.add(generate(JWSAlgorithm.RS256, now));
        prune(updated);
        save(updated);
    }

    /** Drops retired keys whose tokens have all expired; call from time to time. */
    public synchronized void pruneExpired() {
        List<Entry> updated = new ArrayList<>(entries);
        if (prune(updated)) save(updated);
    }

    public List<Entry> entries() {
        return entries;
    }

    /** Public parts of every key that may still have valid tokens out there. */
    public JWKSet publicJwks() {
        Instant now = clock.instant();
        List<JWK> keys = new ArrayList<>();
        for (Entry e : entries) {
            if (e.retired == null || e.retired.plus(tokenLifetime).isAfter(now)) keys.add(e.jwk.toPublicJWK());
        }
        return new JWKSet(keys);
    }

    public Optional<JWK> publicKey(String kid) {
        for (JWK k : publicJwks().getKeys()) {
            if (k.getKeyID().equals(kid)) return Optional.of(k);
        }
        return Optional.empty();
    }

    private boolean prune(List<Entry> list) {
        Instant now = clock.instant();
        return list.removeIf(e -> e.retired != null && !e.retired.plus(tokenLifetime).isAfter(now));
    }

    private static Entry generate(JWSAlgorithm alg, Instant now) {
        try {
            JWK jwk = alg.equals(JWSAlgorithm.ES256)
                    ? new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(alg).keyIDFromThumbprint(true).generate()
                    : new RSAKeyGenerator(2048).keyUse(KeyUse.SIGNATURE).algorithm(alg).keyIDFromThumbprint(true).generate();
            return new Entry(jwk, alg, now, null);
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate a " + alg + " signing key: " + e.getMessage(), e);
        }
    }

    private void save(List<Entry> updated) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode keys = root.putArray("keys");
        for (Entry e : updated) {
            ObjectNode n = keys.addObject();
            n.put("alg", e.alg.getName());
            n.put("created", e.created.toString());
            if (e.retired != null) n.put("retired", e.retired.toString());
            n.set("jwk", Json.MAPPER.valueToTree(e.jwk.toJSONObject()));
        }
        writePrivateFile(file, Json.string(root).getBytes(StandardCharsets.UTF_8));
        entries = List.copyOf(updated);
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
                list.add(new Entry(jwk, JWSAlgorithm.parse(n.path("alg").asText()),
                        Instant.parse(n.path("created").asText()),
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
