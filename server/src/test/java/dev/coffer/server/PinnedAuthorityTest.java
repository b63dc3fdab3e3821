package dev.coffer.server;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.coffer.server.client.ApiClientException;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.client.ReleasedKey;
import dev.coffer.server.client.ServerTrust;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.ReleasePolicies;
import dev.coffer.server.tls.ServerIdentity;
import dev.coffer.server.token.IssuerTrust;
import dev.coffer.server.token.TokenIssuer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A vault trusting a remote {@code coffer server}'s attestation service that serves HTTPS with
 * its own self-signed certificate: two real servers over HTTPS, the vault fetching the
 * authority's JWKS over a pinned certificate (--trust-issuer-cert), and what it refuses: no pin
 * (the JDK's trust store says no), a wrong pin, and a discovery document sending it to a
 * {@code jwks_uri} on another origin, even one presenting the pinned certificate.
 */
class PinnedAuthorityTest {
    @TempDir
    Path attestHome;
    @TempDir
    Path vaultHome;

    static final byte[] HOST_DATA = Fixture.bytes(32, 0x5a);

    static CofferServer attestationService(Path home) {
        return CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true)
                .withToken(JWSAlgorithm.RS256, Duration.ofMinutes(30)));
    }

    static ServerTrust pinOf(CofferServer server) {
        return new ServerTrust.PinnedCertificate(server.tls().fingerprint());
    }

    /**
     * A vault (HTTPS, its own certificate, a home of its own under {@code name}) with a key released
     * only on tokens of {@code authority}, whose certificate it checks with {@code pin} (null: the JDK's trust store).
     */
    CofferServer vault(String name, String authority, ServerTrust pin) throws Exception {
        Path home = vaultHome.resolve(name);
        ServerConfig config = ServerConfig.defaults(home).withPort(0);
        CofferServer vault = CofferServer.start(pin == null ? config : config.withIssuerTrust(authority, pin));
        new CofferClient(vault.url(), Files.readString(home.resolve("server/admin-token")).strip(), pinOf(vault))
                .post("/keys/remote/create", Map.of("kty", "oct", "exportable", true,
                        "release_policy", ReleasePolicies.forCofferGuest(authority, Fixture.hex(HOST_DATA), "sim")));
        return vault;
    }

    static ApiClientException refusedRelease(CofferServer vault, String token) {
        return assertThrows(ApiClientException.class, () -> new CofferClient(vault.url(), null, pinOf(vault))
                .release("remote", null, token, "RSA_AES_KEY_WRAP_256"));
    }

    @Test
    void aPinnedAuthorityIsTrustedAndAnUnpinnedOrWronglyPinnedOneIsRefused() throws Exception {
        try (CofferServer attestation = attestationService(attestHome)) {
            assertTrue(attestation.url().startsWith("https://") && attestation.issuerName().startsWith("https://"), attestation.url());
            Fixture.Guest guest = new Fixture.Guest(attestHome, Fixture.bytes(48, 0x5b), HOST_DATA, 0x30000L);
            String token = new CofferClient(attestation.url(), null, pinOf(attestation)).attest(guest.maaBody());

            // pinned by the fingerprint the attestation server prints: the release works
            try (CofferServer vault = vault("pinned", attestation.issuerName(), pinOf(attestation))) {
                String jws = new CofferClient(vault.url(), null, pinOf(vault)).release("remote", null, token, "RSA_AES_KEY_WRAP_256");
                assertEquals(32, ReleasedKey.open(jws, guest.runtimeKey.toRSAPrivateKey()).material().length);
            }

            // no pin: the JDK's trust store refuses the self-signed certificate, and the error says how to pin it
            try (CofferServer vault = vault("unpinned", attestation.issuerName(), null)) {
                ApiClientException e = refusedRelease(vault, token);
                assertEquals(401, e.status(), e.getMessage());
                assertEquals("token_issuer_untrusted", e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("HTTPS certificate was refused"), e.getMessage());
                assertTrue(e.getMessage().contains("--trust-issuer-cert " + IssuerTrust.origin(attestation.issuerName()) + "=SHA256"),
                        e.getMessage());
            }

            // a wrong pin (another server's certificate): refused, naming both fingerprints
            String other = ServerIdentity.selfSigned("127.0.0.1").fingerprint();
            try (CofferServer vault = vault("wrong-pin", attestation.issuerName(), new ServerTrust.PinnedCertificate(other))) {
                ApiClientException e = refusedRelease(vault, token);
                assertEquals("token_issuer_untrusted", e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("expected the pinned " + other), e.getMessage());
                assertTrue(e.getMessage().contains(attestation.tls().fingerprint()), "names what it found: " + e.getMessage());
                assertTrue(e.getMessage().contains("check the pin for " + IssuerTrust.origin(attestation.issuerName())), e.getMessage());
            }

            // the same pin given as a CA file (the self-signed certificate is its own CA): works too
            Path ca = attestHome.resolve("server").resolve(ServerIdentity.CERT_FILE);
            try (CofferServer vault = vault("ca-file", attestation.issuerName(),
                    new ServerTrust.CaCertificates(ServerIdentity.readCertificates(ca)))) {
                String jws = new CofferClient(vault.url(), null, pinOf(vault)).release("remote", null, token, "RSA_AES_KEY_WRAP_256");
                assertEquals(32, ReleasedKey.open(jws, guest.runtimeKey.toRSAPrivateKey()).material().length);
            }
        }
    }

    /**
     * A hostile "attestation service" at an origin the vault pinned: it presents the pinned
     * certificate, and its discovery document names a jwks_uri on another origin (here a real
     * server's /certs, presenting the same certificate, so a vault that followed it would accept
     * the keys there). The vault refuses the jwks_uri before fetching it.
     */
    @Test
    void aJwksUriOutsideThePinnedOriginIsRefused() throws Exception {
        try (CofferServer attestation = attestationService(attestHome)) {
            HttpsServer discovery = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            SSLContext ctx = SSLContext.getInstance("TLS");
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            char[] pw = "test".toCharArray();
            kmf.init(attestation.tls().keyStore(pw), pw);
            ctx.init(kmf.getKeyManagers(), null, null);
            discovery.setHttpsConfigurator(new HttpsConfigurator(ctx));
            String elsewhere = attestation.url() + "/certs";
            discovery.createContext("/", exchange -> {
                byte[] body = exchange.getRequestURI().getPath().equals("/.well-known/openid-configuration")
                        ? Json.string(Map.of("jwks_uri", elsewhere)).getBytes(StandardCharsets.UTF_8)
                        : "{\"keys\":[]}".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            discovery.start();
            try {
                String hostile = "https://127.0.0.1:" + discovery.getAddress().getPort();
                // a token whose keys live at the other origin: the real service's claims, signed by its key, iss the hostile origin
                Fixture.Guest guest = new Fixture.Guest(attestHome, Fixture.bytes(48, 0x5c), HOST_DATA, 0x30000L);
                String real = new CofferClient(attestation.url(), null, pinOf(attestation)).attest(guest.maaBody());
                Map<String, Object> claims = new HashMap<>(SignedJWT.parse(real).getJWTClaimsSet().toJSONObject());
                for (String standard : List.of("iss", "iat", "nbf", "exp", "jti")) claims.remove(standard);
                String token = new TokenIssuer(attestation.signingKeys(), hostile, JWSAlgorithm.RS256, Duration.ofMinutes(5),
                        Clock.systemUTC()).issue(claims);
                try (CofferServer vault = vault("hostile", hostile, pinOf(attestation))) {
                    ApiClientException e = refusedRelease(vault, token);
                    assertEquals("token_issuer_untrusted", e.code(), e.getMessage());
                    assertTrue(e.getMessage().contains("expected the jwks_uri of issuer " + hostile + " on its own origin " + hostile),
                            e.getMessage());
                    assertTrue(e.getMessage().contains("found " + elsewhere), e.getMessage());
                }
            } finally {
                discovery.stop(0);
            }
        }
    }

    @Test
    void pinsAreHttpsOriginsAndFingerprints() {
        IllegalArgumentException http = assertThrows(IllegalArgumentException.class,
                () -> IssuerTrust.parseFingerprint("http://127.0.0.1:8400=" + "ab".repeat(32)));
        assertTrue(http.getMessage().contains("a certificate pin means nothing over plain HTTP"), http.getMessage());
        IllegalArgumentException shortPin = assertThrows(IllegalArgumentException.class,
                () -> IssuerTrust.parseFingerprint("https://a.example:8400=abcd"));
        assertTrue(shortPin.getMessage().contains("64 hex digits"), shortPin.getMessage());
        IllegalArgumentException noUrl = assertThrows(IllegalArgumentException.class, () -> IssuerTrust.parseFingerprint("abcd"));
        assertTrue(noUrl.getMessage().contains("expected URL=SHA256"), noUrl.getMessage());
        // one service, two spellings: one origin
        assertEquals("https://a.example:443", IssuerTrust.origin("https://A.example/tenant/"));
        ServerTrust pin = new ServerTrust.PinnedCertificate("ab".repeat(32));
        IssuerTrust once = IssuerTrust.NONE.with("https://a.example", pin);
        assertThrows(IllegalArgumentException.class, () -> once.with("https://a.example:443/x", pin));
    }
}
