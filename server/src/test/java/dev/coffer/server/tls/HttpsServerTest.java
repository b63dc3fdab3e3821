package dev.coffer.server.tls;

import dev.coffer.channel.Jwk;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code coffer server} over HTTPS: its own certificate, a given one, and what it refuses. */
class HttpsServerTest {
    @TempDir
    Path home;

    static HttpClient trusting(X509Certificate cert) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("server", cert);
        TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
        f.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, f.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ctx).build();
    }

    static String get(HttpClient c, String url) throws Exception {
        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    @Test
    void servesHttpsWithItsOwnCertificateKeptAcrossRestarts() throws Exception {
        String fingerprint;
        try (CofferServer server = CofferServer.start(ServerConfig.defaults(home).withPort(0))) {
            assertTrue(server.url().startsWith("https://127.0.0.1:"), server.url());
            ServerIdentity id = server.tls();
            fingerprint = id.fingerprint();
            assertEquals(fingerprint, HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(ServerIdentity.readCertificates(home.resolve("server").resolve(ServerIdentity.CERT_FILE)).getFirst().getEncoded())));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(home.resolve("server").resolve(ServerIdentity.KEY_FILE))));
            assertEquals("EC", id.certificate().getPublicKey().getAlgorithm());
            var sans = id.certificate().getSubjectAlternativeNames().stream().map(l -> String.valueOf(l.get(1))).toList();
            assertTrue(sans.contains("127.0.0.1") && sans.contains("localhost"), sans.toString());

            // a client trusting this certificate (host name checked against its SANs) gets answers
            String health = get(trusting(id.certificate()), server.url() + "/health");
            assertTrue(health.contains("\"status\":\"ok\""), health);

            // a client with only the JDK's trust store refuses the self-signed certificate
            assertThrows(SSLHandshakeException.class, () -> HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(server.url() + "/health")).build(), HttpResponse.BodyHandlers.ofString()));

            // plain HTTP to the TLS port gets no API answer
            String plain = server.url().replace("https://", "http://");
            assertThrows(java.io.IOException.class, () -> {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(plain + "/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) throw new java.io.IOException("HTTP " + r.statusCode());
            });

            // the pins: the certificate and the signing keys, whose thumbprints match the served JWKS
            CofferServer.Pins pins = server.pins();
            assertEquals(fingerprint, pins.tlsCertificate());
            var jwks = Json.parse(get(trusting(id.certificate()), server.url() + "/certs"));
            List<String> served = new java.util.ArrayList<>();
            for (var k : jwks.path("keys")) served.add(Jwk.thumbprint(k));
            served.sort(null); // the pins are a set, printed sorted; the JWKS lists keys in load order
            assertEquals(served, pins.signingKeys());
            assertFalse(served.isEmpty());
        }
        try (CofferServer again = CofferServer.start(ServerConfig.defaults(home).withPort(0))) {
            assertEquals(fingerprint, again.tls().fingerprint(), "the certificate made on first start is kept");
        }
    }

    @Test
    void servesAGivenCertificateAndRefusesAKeyOfAnother() throws Exception {
        ServerIdentity given = ServerIdentity.selfSigned("127.0.0.1");
        Path cert = home.resolve("cert.pem");
        Path key = home.resolve("key.pem");
        Files.writeString(cert, given.certificatePem());
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder().encodeToString(given.key().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        ServerIdentity loaded = ServerIdentity.fromPem(cert, key);
        try (CofferServer server = CofferServer.start(ServerConfig.defaults(home).withPort(0), loaded)) {
            assertEquals(given.fingerprint(), server.pins().tlsCertificate());
            assertTrue(get(trusting(given.certificate()), server.url() + "/health").contains("ok"));
        }
        ServerIdentity other = ServerIdentity.selfSigned("127.0.0.1");
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder().encodeToString(other.key().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        var e = assertThrows(java.io.IOException.class, () -> ServerIdentity.fromPem(cert, key));
        assertTrue(e.getMessage().contains("to belong to the certificate"), e.getMessage());
        Files.writeString(key, "not a key");
        assertThrows(java.io.IOException.class, () -> ServerIdentity.fromPem(cert, key));
    }

    @Test
    void plainHttpOnlyOnLoopback() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withListen("0.0.0.0", 0)));
        assertTrue(e.getMessage().contains("expected a loopback listen address for plain HTTP"), e.getMessage());
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0))) {
            assertTrue(server.url().startsWith("http://127.0.0.1:"));
            assertNull(server.pins().tlsCertificate());
        }
    }
}
