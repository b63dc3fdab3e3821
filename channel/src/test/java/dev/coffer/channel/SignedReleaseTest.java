package dev.coffer.channel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The signed release checked against a pinned key, and every way a "vault" can get it wrong. */
class SignedReleaseTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    record Signer(KeyPair keys, JsonNode jwks, String thumbprint) {
        String sign(String headerJson, Object payload) throws Exception {
            String header = B64.encodeToString(headerJson.getBytes(StandardCharsets.UTF_8));
            String body = B64.encodeToString(JSON.writeValueAsBytes(payload));
            Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
            s.initSign(keys.getPrivate());
            s.update((header + "." + body).getBytes(StandardCharsets.US_ASCII));
            return header + "." + body + "." + B64.encodeToString(s.sign());
        }

        String sign(Object payload) throws Exception {
            return sign("{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JOSE\"}", payload);
        }
    }

    static Signer signer() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        ECPublicKey pub = (ECPublicKey) kp.getPublic();
        JsonNode jwks = JSON.valueToTree(Map.of("keys", List.of(Map.of("kty", "EC", "crv", "P-256", "kid", "k1",
                "x", Jwk.b64(pub.getW().getAffineX(), 32), "y", Jwk.b64(pub.getW().getAffineY(), 32)))));
        return new Signer(kp, jwks, Jwk.thumbprint(pub));
    }

    static Map<String, Object> release(String kid, byte[] wrapped, KeyWrapAlgorithm alg) {
        return Map.of("response", Map.of("key", Map.of("key", Map.of("kid", kid, "kty", "oct-HSM",
                "key_hsm", SignedRelease.keyHsm(kid, alg, wrapped)))));
    }

    @Test
    void pinnedReleaseVerifiesOpensAndUnwraps() throws Exception {
        Signer vault = signer();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair runtime = g.generateKeyPair();
        byte[] secret = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        for (KeyWrapAlgorithm alg : KeyWrapAlgorithm.values()) {
            byte[] wrapped = RsaAesKeyWrap.wrap((RSAPublicKey) runtime.getPublic(), secret, alg);
            String jws = vault.sign(release("https://v/keys/disk/1", wrapped, alg));
            JsonNode payload = SignedRelease.verify(jws, vault.jwks(), List.of(vault.thumbprint()));
            SignedRelease.Released r = SignedRelease.open(payload, "disk");
            assertEquals(alg, r.alg());
            assertArrayEquals(secret, r.unwrap((RSAPrivateKey) runtime.getPrivate()));
            var other = assertThrows(ChannelFormatException.class, () -> SignedRelease.open(payload, "other"));
            assertTrue(other.getMessage().contains("expected the vault to release key 'other'"), other.getMessage());
        }
    }

    @Test
    void releaseSignedByAnotherKeyIsRefusedNamingThePin() throws Exception {
        Signer vault = signer();
        Signer impostor = signer();
        String jws = impostor.sign(Map.of("response", "x"));
        // the impostor serves its own key set: the key verifies the signature but is not the pinned one
        var e = assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(jws, impostor.jwks(), List.of(vault.thumbprint())));
        assertTrue(e.getMessage().contains(vault.thumbprint()), e.getMessage());
        assertTrue(e.getMessage().contains(impostor.thumbprint()), e.getMessage());
        assertTrue(e.getMessage().contains("not signed by the pinned release-signing key"), e.getMessage());
        // the vault's real key set with an impostor's signature: the pinned key does not verify it
        var f = assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(jws, vault.jwks(), List.of(vault.thumbprint())));
        assertTrue(f.getMessage().contains(vault.thumbprint()), f.getMessage());
    }

    @Test
    void forgedAndMalformedReleasesAreRefused() throws Exception {
        Signer vault = signer();
        List<String> pin = List.of(vault.thumbprint());
        String jws = vault.sign(Map.of("response", "x"));
        String[] p = jws.split("\\.");
        String forged = p[0] + "." + B64.encodeToString("{\"response\":\"y\"}".getBytes(StandardCharsets.UTF_8)) + "." + p[2];
        assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(forged, vault.jwks(), pin));
        String none = B64.encodeToString("{\"alg\":\"none\",\"kid\":\"k1\"}".getBytes(StandardCharsets.UTF_8)) + "." + p[1] + ".";
        assertTrue(assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(none, vault.jwks(), pin)).getMessage().contains("'none'"));
        String hs = vault.sign("{\"alg\":\"HS256\",\"kid\":\"k1\"}", Map.of("response", "x"));
        assertTrue(assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(hs, vault.jwks(), pin)).getMessage().contains("'HS256'"));
        String crit = vault.sign("{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"exp\"],\"exp\":1}", Map.of("response", "x"));
        assertTrue(assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(crit, vault.jwks(), pin)).getMessage().contains("crit"));
        String unknownKid = vault.sign("{\"alg\":\"ES256\",\"kid\":\"zz\"}", Map.of("response", "x"));
        assertTrue(assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(unknownKid, vault.jwks(), pin)).getMessage()
                .contains("does not hold"));
        for (String junk : new String[] {"", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30", "e30.e30.e30"}) {
            assertThrows(ChannelFormatException.class, () -> SignedRelease.verify(junk, vault.jwks(), pin), junk);
        }
        assertThrows(ChannelFormatException.class, () -> SignedRelease.verify("x".repeat(CompactJws.MAX_CHARS + 1), vault.jwks(), pin));
        assertThrows(IllegalArgumentException.class, () -> SignedRelease.verify(jws, vault.jwks(), List.of()));
        // a malformed key_hsm, an unknown wrapping
        JsonNode bad = JSON.valueToTree(Map.of("response", Map.of("key", Map.of("key", Map.of("kid", "disk", "key_hsm", "!!")))));
        assertThrows(ChannelFormatException.class, () -> SignedRelease.open(bad, "disk"));
        String hsm = B64.encodeToString("{\"header\":{\"enc\":\"A256KW\"},\"ciphertext\":\"AA\"}".getBytes(StandardCharsets.UTF_8));
        JsonNode a256 = JSON.valueToTree(Map.of("response", Map.of("key", Map.of("key", Map.of("kid", "disk", "key_hsm", hsm)))));
        assertTrue(assertThrows(ChannelFormatException.class, () -> SignedRelease.open(a256, "disk")).getMessage().contains("'A256KW'"));
        assertThrows(ChannelFormatException.class, () -> SignedRelease.open(JSON.readTree("{}"), "disk"));
    }

    @Test
    void thumbprintIgnoresMembersOutsideTheKeyAndLeadingZeros() throws Exception {
        Signer vault = signer();
        var jwk = (com.fasterxml.jackson.databind.node.ObjectNode) vault.jwks().path("keys").get(0).deepCopy();
        jwk.put("kid", "another-name");
        jwk.put("use", "sig");
        assertEquals(vault.thumbprint(), Jwk.thumbprint(jwk));
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        RSAPublicKey rsa = (RSAPublicKey) g.generateKeyPair().getPublic();
        byte[] n = rsa.getModulus().toByteArray();
        byte[] padded = new byte[n.length + 1];
        System.arraycopy(n, 0, padded, 1, n.length);
        JsonNode withZero = JSON.valueToTree(Map.of("kty", "RSA", "e", "AQAB", "n", B64.encodeToString(padded)));
        assertEquals(Jwk.thumbprint(rsa), Jwk.thumbprint(withZero));
        assertThrows(ChannelFormatException.class, () -> Jwk.thumbprint(JSON.readTree("{\"kty\":\"oct\",\"k\":\"AA\"}")));
        assertThrows(ChannelFormatException.class, () -> Jwk.publicKey(JSON.readTree("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}")));
    }
}
