package dev.coffer.server;

import com.nimbusds.jose.JWSAlgorithm;
import dev.coffer.server.http.HttpApiServer;
import dev.coffer.server.http.HttpResponse;
import dev.coffer.server.http.Router;
import dev.coffer.server.store.AuditLog;
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

    private CofferServer(ServerConfig config, HttpApiServer http, VaultStore store, AuditLog auditLog, SigningKeyRing keyRing,
                         TokenIssuer issuer, KeyVault vault, AdminTokens admins, AttestationService attestation, String url,
                         ServerIdentity tls) {
        this.tls = tls;
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
        try {
            // Bind first: the issuer name defaults to our URL, which needs the actual port.
            Router router = new Router();
            http = new HttpApiServer(config.host(), config.port(), config.maxBodyBytes(), router, tls);
            http.start();
            String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
            String url = http.scheme() + "://" + host + ":" + http.port();
            String issuerName = config.issuer() != null ? config.issuer() : url;
            SigningKeyRing ring = SigningKeyRing.open(state.resolve("signing-keys.json"), config.tokenLifetime(), config.clock());
            TokenIssuer issuer = new TokenIssuer(ring, issuerName, config.tokenAlgorithm(), config.tokenLifetime(), config.clock());
            TokenVerifier verifier = new TokenVerifier(new IssuerKeys(issuerName, ring, config.clock()), config.clock(), Duration.ofSeconds(30));
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
            CofferServer server = new CofferServer(config, http, store, auditLog, ring, issuer, vault, admins, attestation, url, tls);
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
            store.close();
            if (e instanceof RuntimeException re) throw re;
            throw new IllegalStateException("cannot start the server on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
        }
    }

    private void routes(Router r) {
        r.add("GET", "/health", req -> HttpResponse.ok(Map.of("status", "ok", "store", store.dialect().name().toLowerCase(),
                "issuer", issuer.issuer(), "appraisal", attestation.appraisalPolicy().describe())));
        r.add("GET", "/certs", req -> new HttpResponse(200, "application/json",
                keyRing.publicJwks().toString(true).getBytes(StandardCharsets.UTF_8), Map.of()));
        r.add("GET", "/.well-known/openid-configuration", req -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("issuer", issuer.issuer());
            m.put("jwks_uri", url + "/certs");
            m.put("id_token_signing_alg_values_supported", List.of(JWSAlgorithm.ES256.getName(), JWSAlgorithm.RS256.getName()));
            m.put("response_types_supported", List.of("token", "none"));
            m.put("claims_supported", AttestationService.ALL_CLAIMS_SUPPORTED);
            m.put("revocation_endpoint", url + "/revocations");
            return HttpResponse.ok(m);
        });
        r.add("POST", "/admin/signing-keys/rotate", req -> {
            admins.require(req.header("Authorization"));
            keyRing.rotate();
            return HttpResponse.ok(Map.of("active", List.of(keyRing.active(JWSAlgorithm.ES256).kid(), keyRing.active(JWSAlgorithm.RS256).kid())));
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
        SigningKeyRing ring = SigningKeyRing.open(config.stateDir().resolve("signing-keys.json"), config.tokenLifetime(), config.clock());
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        String url = "https://" + host + ":" + config.port();
        return new Pins(url, config.issuer() != null ? config.issuer() : url, id.fingerprint(), thumbprints(ring));
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
        return List.copyOf(keys);
    }

    /**
     * @param tlsCertificate SHA-256 of the leaf certificate (lowercase hex), null for plain HTTP
     * @param signingKeys    RFC 7638 thumbprints of the release- and token-signing keys
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
            store.close();
            try {
                Files.deleteIfExists(config.stateDir().resolve(ENDPOINT_FILE));
            } catch (IOException ignored) {
                // stale endpoint file: the CLI reports a connection failure instead
            }
        }
    }
}
