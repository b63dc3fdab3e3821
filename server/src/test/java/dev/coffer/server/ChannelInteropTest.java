package dev.coffer.server;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.coffer.channel.CompactJws;
import dev.coffer.channel.Jwk;
import dev.coffer.channel.SignedRelease;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.ReleasePolicies;
import dev.coffer.server.vault.KeySpec;
import dev.coffer.server.vault.ReleaseResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each side's bytes checked by the other's code: the vault's signed release (Nimbus signs it)
 * verified against the pin and opened by the channel code the agent runs; JWSs Nimbus signs
 * verified by the channel's JWS code; thumbprints against Nimbus's RFC 7638 implementation.
 */
class ChannelInteropTest {
    @TempDir
    Path home;

    @Test
    void vaultReleaseVerifiesAgainstThePinAndOpensWithTheAgentsCode() throws Exception {
        byte[] hostData = Fixture.bytes(32, 0x71);
        try (CofferServer server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            server.vault().create("disk", KeySpec.oct256(), true, ReleasePolicies.forCofferGuest(server.issuerName(), Fixture.hex(hostData), "sim"), false);
            Fixture.Guest guest = new Fixture.Guest(home, Fixture.bytes(48, 0x72), hostData, 0x30000L);
            String token = server.attestation().attest(guest.report(), guest.chainPem(), guest.endorsements(), guest.runtimeJson, "JSON", null);
            for (String enc : List.of("CKM_RSA_AES_KEY_WRAP", "RSA_AES_KEY_WRAP_256")) {
                ReleaseResult released = server.vault().release("disk", null, token, enc);
                var jwks = Json.parse(jwksOf(server));
                var payload = SignedRelease.verify(released.value(), jwks, server.pins().signingKeys());
                SignedRelease.Released r = SignedRelease.open(payload, "disk");
                assertEquals(enc, r.alg().name());
                assertEquals("oct-HSM", r.kty());
                byte[] material = r.unwrap(guest.runtimeKey.toRSAPrivateKey());
                assertEquals(32, material.length);
                // a pin of another key refuses the genuine release
                String other = Jwk.thumbprint(Json.parse(new ECKeyGenerator(Curve.P_256).generate().toPublicJWK().toJSONString()));
                var e = assertThrows(dev.coffer.channel.ChannelFormatException.class, () -> SignedRelease.verify(released.value(), jwks, List.of(other)));
                assertTrue(e.getMessage().contains(other), e.getMessage());
            }
        }
    }

    private static String jwksOf(CofferServer server) throws Exception {
        var c = java.net.http.HttpClient.newBuilder().sslContext(trusting(server)).build();
        return c.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url() + "/certs")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    private static javax.net.ssl.SSLContext trusting(CofferServer server) throws Exception {
        var ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("s", server.tls().certificate());
        var f = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        f.init(ks);
        var ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, f.getTrustManagers(), null);
        return ctx;
    }

    @Test
    void nimbusSignaturesVerifyWithTheChannelAndThumbprintsAgree() throws Exception {
        ECKey p256 = new ECKeyGenerator(Curve.P_256).keyID("e").generate();
        ECKey p384 = new ECKeyGenerator(Curve.P_384).keyID("e3").generate();
        RSAKey rsa = new RSAKeyGenerator(2048).keyID("r").generate();
        record Case(JWSAlgorithm alg, JWK key, com.nimbusds.jose.JWSSigner signer) {}
        for (Case c : List.of(new Case(JWSAlgorithm.ES256, p256, new ECDSASigner(p256)),
                new Case(JWSAlgorithm.ES384, p384, new ECDSASigner(p384)),
                new Case(JWSAlgorithm.RS256, rsa, new RSASSASigner(rsa)),
                new Case(JWSAlgorithm.PS256, rsa, new RSASSASigner(rsa)))) {
            JWSObject jws = new JWSObject(new JWSHeader.Builder(c.alg()).keyID(c.key().getKeyID()).type(JOSEObjectType.JOSE).build(),
                    new Payload("{\"iss\":\"x\"}"));
            jws.sign(c.signer());
            var pub = Jwk.publicKey(Json.parse(c.key().toPublicJWK().toJSONString()));
            CompactJws parsed = CompactJws.parse(jws.serialize(), "token");
            assertTrue(parsed.verifiesWith(pub), c.alg().getName());
            assertEquals("x", parsed.payloadJson("token").path("iss").asText());
            assertEquals(c.key().computeThumbprint().toString(), Jwk.thumbprint(pub), "RFC 7638 thumbprint of " + c.alg());
            // another key of the same kind does not verify it
            var stranger = c.key() instanceof RSAKey ? new RSAKeyGenerator(2048).generate().toPublicJWK()
                    : new ECKeyGenerator(((ECKey) c.key()).getCurve()).generate().toPublicJWK();
            assertFalse(parsed.verifiesWith(Jwk.publicKey(Json.parse(stranger.toJSONString()))), c.alg().getName());
        }
    }
}
