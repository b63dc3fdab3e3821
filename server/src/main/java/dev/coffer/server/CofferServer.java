package dev.coffer.server;

import com.nimbusds.jose.JWSAlgorithm;
import dev.coffer.server.http.HttpApiServer;
import dev.coffer.server.http.HttpResponse;
import dev.coffer.server.http.Router;
import dev.coffer.server.http.Metrics;
import dev.coffer.server.store.AuditLog;
import dev.coffer.server.store.Dialect;
import dev.coffer.server.store.StoreProbe;
import dev.coffer.server.store.KeyEncryptionKey;
import dev.coffer.server.store.VaultStore;
import dev.coffer.server.token.IssuerKeys;
import dev.coffer.server.token.SigningKeyRing;
import dev.coffer.server.token.TokenIssuer;
import dev.coffer.server.token.TokenVerifier;
import dev.coffer.server.tls.ServerIdentity;
import dev.coffer.server.vault.AdminTokens;
import dev.coffer.server.vault.KeyVault;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The attestation service and key vault in one process: {@code coffer server}, and the embedded
 * server of {@code coffer demo} and of tests. {@link #start} binds, opens the store (creating or
 * migrating its schema), loads or creates the signing keys, KEK and first admin token, and
 * serves until {@link #close}.
 *
 * <pre>{@code
 * try (CofferServer server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
 *     KeyInfo key = server.vault().create("demo-key", KeySpec.oct256(), true, policyJson, false);
 *     String url = server.url();   // e.g. http://127.0.0.1:41234
 * }
 * }</pre>
 */
public final class CofferServer implements AutoCloseable {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(CofferServer.class.getName());
    /** Where the first admin token is written (mode 0600) when the store has none. */
    public static final String ADMIN_TOKEN_FILE = "admin-token";
    /** Where a running server writes its URL, so {@code coffer key} finds it. */
    public static final String ENDPOINT_FILE = "endpoint";
    /** The certificate the running server presents (PEM), beside {@link #ENDPOINT_FILE}. */
    public static final String ENDPOINT_CERT_FILE = "endpoint-cert.pem";

    private final ServerConfig config;
    private final HttpApiServer http;
    private final VaultStore store;
    private final AuditLog auditLog;
    private final SigningKeyRing keyRing;
    private final TokenIssuer issuer;
    private final KeyVault vault;
    private final AdminTokens admins;
    private final AttestationService attestation;
    private final String url;
    private final ServerIdentity tls;
    private final StoreProbe probe;
    private final Metrics metrics;

    private CofferServer(ServerConfig config, HttpApiServer http, VaultStore store, AuditLog auditLog, SigningKeyRing keyRing,
                         TokenIssuer issuer, KeyVault vault, AdminTokens admins, AttestationService attestation, String url,
                         ServerIdentity tls, StoreProbe probe, Metrics metrics) {
        this.tls = tls;
        this.probe = probe;
        this.metrics = metrics;
        this.config = config;
        this.http = http;
        this.store = store;
        this.auditLog = auditLog;
        this.keyRing = keyRing;
        this.issuer = issuer;
        this.vault = vault;
        this.admins = admins;
        this.attestation = attestation;
        this.url = url;
    }

    /** HTTPS with the identity in the server's state ({@link ServerIdentity#loadOrCreate}, self-signed on first start). */
    public static CofferServer start(ServerConfig config) {
        try {
            return start(config, ServerIdentity.loadOrCreate(config.stateDir(), config.host()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use the server's TLS certificate in " + config.stateDir() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Plain HTTP, on a loopback listen address only: for tests and benchmarks whose subject is
     * not the transport. Agents outside the process sandbox refuse plain-HTTP endpoints.
     */
    public static CofferServer startPlainHttpOnLoopback(ServerConfig config) {
        return start(config, null);
    }

    /** @param tls the certificate and key to serve HTTPS with; null for plain HTTP on loopback */
    public static CofferServer start(ServerConfig config, ServerIdentity tls) {
        Path state = config.stateDir();
        try {
            Files.createDirectories(state);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the server state directory " + state + ": " + e.getMessage(), e);
        }
        KeyEncryptionKey kek = loadKek(config);
        String dbUrl = config.dbUrl() != null ? config.dbUrl() : VaultStore.sqliteUrl(state.resolve("vault.db"));
        VaultStore store = VaultStore.open(dbUrl, kek);
        HttpApiServer http = null;
        AuditLog auditLog = null;
        SigningKeyRing ring = null;
        StoreProbe probe = null;
        try {
            // Bind first: the issuer name defaults to our URL, which needs the actual port.
            Router router = new Router();
            http = new HttpApiServer(config.host(), config.port(), config.maxBodyBytes(), router, tls);
            http.start();
            String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
            String url = http.scheme() + "://" + host + ":" + http.port();
            String issuerName = config.issuer() != null ? config.issuer() : url;
            ring = openRing(config, store);
            TokenIssuer issuer = new TokenIssuer(ring, issuerName, config.tokenAlgorithm(), config.tokenLifetime(), config.clock());
            TokenVerifier verifier = new TokenVerifier(new IssuerKeys(issuerName, ring, config.clock(), config.issuerTrust()), config.clock(),
                    Duration.ofSeconds(30));
            auditLog = new AuditLog(store);
            KeyVault vault = new KeyVault(store, auditLog, verifier, issuer, config.clock(), url);
            AdminTokens admins = new AdminTokens(store, config.clock());
            if (admins.isEmpty()) {
                String token = admins.create("initial admin token");
                SigningKeyRing.writePrivateFile(state.resolve(ADMIN_TOKEN_FILE), (token + "\n").getBytes(StandardCharsets.US_ASCII));
            }
            AttestationService attestation = AttestationService.create(config, store, issuer);
            if (config.appraisalSettings().acceptAnyMeasurement()) {
                LOG.warning("--accept-any-measurement: tokens are issued for ANY launch MEASUREMENT (development only); "
                        + "they carry x-coffer-measurement-unchecked: true and no x-ms-compliance-status");
            }
            probe = new StoreProbe(store, config.clock());
            Metrics metrics = new Metrics();
            CofferServer server = new CofferServer(config, http, store, auditLog, ring, issuer, vault, admins, attestation, url, tls,
                    probe, metrics);
            server.registerMetrics();
            http.observeRequests(metrics);
            server.routes(router);
            router.open();
            Files.writeString(state.resolve(ENDPOINT_FILE), url + "\n");
            // the certificate this server presents, for clients of this home (coffer key ...) to pin
            if (tls != null) Files.writeString(state.resolve(ENDPOINT_CERT_FILE), tls.certificatePem());
            else Files.deleteIfExists(state.resolve(ENDPOINT_CERT_FILE));
            return server;
        } catch (Exception e) {
            try {
                if (http != null) http.close();
            } catch (Exception ignored) {
                // already failing
            }
            if (auditLog != null) auditLog.close();
            if (ring != null) ring.close();
            if (probe != null) probe.close();
            store.close();
            if (e instanceof RuntimeException re) throw re;
            throw new IllegalStateException("cannot start the server on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The token-signing keys, in the vault's database (sealed under the KEK) so that every
     * replica on one PostgreSQL signs and publishes the same keys; a file of keys left by an
     * earlier version in the state directory is moved in on first start.
     */
    private static SigningKeyRing openRing(ServerConfig config, VaultStore store) {
        return SigningKeyRing.openShared(store, config.stateDir().resolve(LEGACY_SIGNING_KEY_FILE), config.tokenLifetime(),
                config.clock(), store.dialect() == Dialect.POSTGRESQL);
    }

    /** Where servers before the shared ring kept their signing keys (moved into the database at start). */
    static final String LEGACY_SIGNING_KEY_FILE = "signing-keys.json";

    private void registerMetrics() {
        metrics.register("coffer_key_releases_total", "counter", "Key release decisions this replica committed to the audit log, "
                + "by verdict (released, denied) and error code", () -> auditLog.committedOutcomes().entrySet().stream()
                .map(e -> new Metrics.Sample(Map.of("verdict", e.getKey().verdict(), "code", e.getKey().code()), e.getValue())).toList());
        metrics.register("coffer_audit_queue_depth", "gauge", "Release decisions waiting for the audit log's group commit",
                () -> List.of(Metrics.Sample.of(auditLog.queueDepth())));
        metrics.register("coffer_database_up", "gauge", "1 when the database answered the last probe (every second), else 0",
                () -> List.of(Metrics.Sample.of(probe.status().up() ? 1 : 0)));
        metrics.register("coffer_database_connections", "gauge", "Database connections of this replica, by state",
                () -> List.of(new Metrics.Sample(Map.of("state", "idle"), store.idleConnections()),
                        new Metrics.Sample(Map.of("state", "in_use"), Math.max(0, store.openConnections() - store.idleConnections()))));
        metrics.register("coffer_signing_keys_published", "gauge", "Token-signing keys in the JWKS (active, next and retired-but-valid)",
                () -> List.of(Metrics.Sample.of(keyRing.publicJwks().getKeys().size())));
        metrics.register("coffer_verification_queue", "gauge", "Evidence verifications waiting in the fair queue and running",
                () -> {
                    var q = attestation.verificationQueue();
                    return List.of(new Metrics.Sample(Map.of("state", "waiting"), q.waiting()),
                            new Metrics.Sample(Map.of("state", "running"), q.running()));
                });
        metrics.register("coffer_verification_queue_total", "counter", "Evidence verifications admitted by the queue or refused "
                + "(503 overloaded)", () -> {
                    var q = attestation.verificationQueue();
                    return List.of(new Metrics.Sample(Map.of("outcome", "admitted"), q.admitted()),
                            new Metrics.Sample(Map.of("outcome", "refused"), q.refused()));
                });
        metrics.register("coffer_signing_keys_loaded_age_seconds", "gauge", "Seconds since this replica last read the signing keys",
                () -> List.of(Metrics.Sample.of(Math.max(0, Duration.between(keyRing.loadedAt(), config.clock().instant()).toMillis() / 1000.0))));
    }

    /** Ready for traffic: the database answered within the last few probes and the signing keys are loaded. */
    private HttpResponse readiness() {
        StoreProbe.Status db = probe.status();
        boolean dbFresh = db.up() && Duration.between(db.checked(), config.clock().instant()).compareTo(StoreProbe.INTERVAL.multipliedBy(5)) < 0;
        boolean keys;
        try {
            keys = keyRing.active(JWSAlgorithm.ES256) != null && keyRing.active(JWSAlgorithm.RS256) != null;
        } catch (IllegalStateException e) {
            keys = false;
        }
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("database", dbFresh ? "ok" : db.up() ? "not checked since " + db.checked() : "unavailable: " + db.problem());
        checks.put("signing_keys", keys ? "loaded" : "missing");
        boolean ready = dbFresh && keys;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", ready ? "ready" : "not_ready");
        body.put("checks", checks);
        return HttpResponse.json(ready ? 200 : 503, body);
    }

    /** Where clients reach this service: the configured issuer when it is an http(s) URL (replicas), else this server's URL. */
    private String publicBase() {
        String configured = config.issuer();
        if (configured != null && (configured.startsWith("https://") || configured.startsWith("http://"))) {
            return configured.endsWith("/") ? configured.substring(0, configured.length() - 1) : configured;
        }
        return url;
    }

    private void routes(Router r) {
        // liveness: the process serves requests (a load balancer or kubelet restarts it otherwise)
        r.add("GET", "/healthz", req -> HttpResponse.ok(Map.of("status", "live")));
        // readiness: send traffic here only while the database answers and the keys are loaded
        r.add("GET", "/readyz", req -> readiness());
        r.add("GET", "/metrics", req -> {
            admins.require(req.header("Authorization"));
            return new HttpResponse(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(), Map.of());
        });
        r.add("GET", "/health", req -> HttpResponse.ok(Map.of("status", "ok", "store", store.dialect().name().toLowerCase(),
                "issuer", issuer.issuer(), "appraisal", attestation.appraisalPolicy().describe())));
        r.add("GET", "/certs", req -> new HttpResponse(200, "application/json",
                keyRing.publicJwks().toString(true).getBytes(StandardCharsets.UTF_8), Map.of()));
        r.add("GET", "/.well-known/openid-configuration", req -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("issuer", issuer.issuer());
            // Replicas are reached at their issuer's URL (the load balancer's), not at their own address.
            String base = publicBase();
            m.put("jwks_uri", base + "/certs");
            m.put("id_token_signing_alg_values_supported", List.of(JWSAlgorithm.ES256.getName(), JWSAlgorithm.RS256.getName()));
            m.put("response_types_supported", List.of("token", "none"));
            m.put("claims_supported", AttestationService.ALL_CLAIMS_SUPPORTED);
            m.put("revocation_endpoint", base + "/revocations");
            return HttpResponse.ok(m);
        });
        r.add("POST", "/admin/signing-keys/rotate", req -> {
            admins.require(req.header("Authorization"));
            java.time.Instant takeover = keyRing.rotate();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("active", List.of(keyRing.active(JWSAlgorithm.ES256).kid(), keyRing.active(JWSAlgorithm.RS256).kid()));
            // with replicas the new keys are published first and sign from this instant on
            m.put("new_keys_sign_from", takeover.toString());
            return HttpResponse.ok(m);
        });
        r.add("GET", "/admin/tokens", req -> {
            admins.require(req.header("Authorization"));
            return HttpResponse.ok(Map.of("tokens", admins.list()));
        });
        r.add("POST", "/admin/tokens", req -> {
            admins.require(req.header("Authorization"));
            var body = dev.coffer.server.http.Json.parseObject(req.body(), "create admin token");
            String label = dev.coffer.server.http.Json.optionalText(body, "label", "create admin token");
            if (label == null || label.isBlank() || label.length() > 127 || label.chars().anyMatch(Character::isISOControl)) {
                throw new dev.coffer.server.http.ApiException(dev.coffer.server.http.ErrorCode.MALFORMED_REQUEST,
                        "create admin token: 'label' must be 1..127 printable characters naming who holds the token");
            }
            String token = admins.create(label);
            return HttpResponse.json(201, Map.of("token", token, "id", AdminTokens.idOf(token), "label", label));
        });
        r.add("DELETE", "/admin/tokens/{id}", req -> {
            admins.require(req.header("Authorization"));
            admins.revoke(req.pathParam("id"));
            return HttpResponse.ok(Map.of("revoked", req.pathParam("id")));
        });
        new VaultApi(vault, admins).register(r);
        attestation.register(r, admins);
    }

    private static KeyEncryptionKey loadKek(ServerConfig config) {
        try {
            if (config.kekFile() != null) return KeyEncryptionKey.fromFile(config.kekFile());
            String env = System.getenv(KeyEncryptionKey.ENV);
            if (env != null && !env.isBlank()) return KeyEncryptionKey.parse(env, "$" + KeyEncryptionKey.ENV);
            Path file = config.stateDir().resolve("kek");
            return Files.exists(file) ? KeyEncryptionKey.fromFile(file) : KeyEncryptionKey.generate(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the key-encryption key: " + e.getMessage(), e);
        }
    }

    /** The base URL, e.g. {@code http://127.0.0.1:8400}. */
    public String url() {
        return url;
    }

    public int port() {
        return http.port();
    }

    /** The TLS identity served, or null for a plain-HTTP loopback server. */
    public ServerIdentity tls() {
        return tls;
    }

    /**
     * What a group's spec pins for this server: its TLS certificate's SHA-256 (when it serves
     * HTTPS) and the RFC 7638 thumbprints of the keys it signs releases and tokens with (the one
     * ring signs both). A rotation adds keys; pins must then be updated before the old key retires.
     */
    public Pins pins() {
        return new Pins(url, issuer.issuer(), tls == null ? null : tls.fingerprint(), thumbprints(keyRing));
    }

    /**
     * The pins of the server configured by {@code config}, read from its state without binding
     * (made there as its first start would make them): for `coffer server pins` beside a running
     * server or before the first start.
     */
    public static Pins pinsOf(ServerConfig config) throws IOException {
        ServerIdentity id = ServerIdentity.loadOrCreate(config.stateDir(), config.host());
        Files.createDirectories(config.stateDir());
        String dbUrl = config.dbUrl() != null ? config.dbUrl() : VaultStore.sqliteUrl(config.stateDir().resolve("vault.db"));
        try (VaultStore store = VaultStore.open(dbUrl, loadKek(config));
             SigningKeyRing ring = SigningKeyRing.openShared(store, config.stateDir().resolve(LEGACY_SIGNING_KEY_FILE),
                     config.tokenLifetime(), config.clock(), false)) {
            String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
            String url = "https://" + host + ":" + config.port();
            return new Pins(url, config.issuer() != null ? config.issuer() : url, id.fingerprint(), thumbprints(ring));
        }
    }

    private static List<String> thumbprints(SigningKeyRing ring) {
        List<String> keys = new java.util.ArrayList<>();
        for (var jwk : ring.publicJwks().getKeys()) {
            try {
                keys.add(dev.coffer.channel.Jwk.thumbprint(dev.coffer.server.http.Json.parse(jwk.toPublicJWK().toJSONString())));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        // sorted: a set of pins, printed the same by every replica and every reading of the ring
        // (the JWKS lists keys in the order the ring was last loaded)
        return keys.stream().sorted().toList();
    }

    /**
     * @param tlsCertificate SHA-256 of the leaf certificate (lowercase hex), null for plain HTTP
     * @param signingKeys    RFC 7638 thumbprints of the release- and token-signing keys, sorted
     */
    public record Pins(String url, String issuer, String tlsCertificate, List<String> signingKeys) {}

    public String issuerName() {
        return issuer.issuer();
    }

    public ServerConfig config() {
        return config;
    }

    /** In-process access to the vault (the demo creates keys through it). */
    public KeyVault vault() {
        return vault;
    }

    public TokenIssuer tokenIssuer() {
        return issuer;
    }

    public SigningKeyRing signingKeys() {
        return keyRing;
    }

    public AttestationService attestation() {
        return attestation;
    }

    /** The endorsers whose endorsements make a MEASUREMENT acceptable, one line each (DID, feed, minimum guest SVN). */
    public List<String> trustedEndorsers() {
        return attestation.trustedEndorsers();
    }

    /** A new admin API token (shown once; only its hash is kept). */
    public String createAdminToken(String label) {
        return admins.create(label);
    }

    public void join() throws InterruptedException {
        http.join();
    }

    public void stop() {
        close();
    }

    @Override
    public void close() {
        try {
            http.close();
        } catch (Exception e) {
            // Stopping anyway; the store must still be closed.
        } finally {
            auditLog.close();
            keyRing.close();
            probe.close();
            store.close();
            try {
                Files.deleteIfExists(config.stateDir().resolve(ENDPOINT_FILE));
            } catch (IOException ignored) {
                // stale endpoint file: the CLI reports a connection failure instead
            }
        }
    }
}
