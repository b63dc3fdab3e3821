package dev.coffer.agent.skr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.channel.AesKeyWrapPad;
import dev.coffer.channel.KeyWrapAlgorithm;
import dev.coffer.channel.RsaAesKeyWrap;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Unwrapping and JWS checks on their own, including hostile answers from a "vault". */
class ReleaseResponseTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    @Test
    void rfc5649VectorsUnwrap() throws Exception {
        // RFC 5649 §6: 192-bit KEK, 20-octet and 7-octet keys.
        byte[] kek = HexFormat.of().parseHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
        assertArrayEquals(HexFormat.of().parseHex("c37b7e6492584340bed12207808941155068f738"), KeyUnwrap.aesUnwrapPadded(kek,
                HexFormat.of().parseHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")));
        assertArrayEquals(HexFormat.of().parseHex("466f7250617369"), KeyUnwrap.aesUnwrapPadded(kek,
                HexFormat.of().parseHex("afbeb0f07dfbf5419200f2ccb50bb24f")));
    }

    @Test
    void unwrapsWhatTheVaultWrapsAndRejectsTampering() throws Exception {
        KeyPair kp = rsa();
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        for (KeyWrapAlgorithm alg : KeyWrapAlgorithm.values()) {
            byte[] wrapped = RsaAesKeyWrap.wrap((RSAPublicKey) kp.getPublic(), secret, alg);
            assertArrayEquals(secret, KeyUnwrap.unwrap((RSAPrivateKey) kp.getPrivate(), wrapped, alg.name()));
            byte[] tampered = wrapped.clone();
            tampered[tampered.length - 3] ^= 1;
            assertThrows(GeneralSecurityException.class, () -> KeyUnwrap.unwrap((RSAPrivateKey) kp.getPrivate(), tampered, alg.name()));
            assertThrows(GeneralSecurityException.class, () -> KeyUnwrap.unwrap((RSAPrivateKey) kp.getPrivate(),
                    java.util.Arrays.copyOf(wrapped, 200), alg.name()));
        }
        byte[] wrapped = RsaAesKeyWrap.wrap((RSAPublicKey) kp.getPublic(), secret, KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP);
        // The wrong OAEP digest must not yield a key.
        assertThrows(GeneralSecurityException.class, () -> KeyUnwrap.unwrap((RSAPrivateKey) kp.getPrivate(), wrapped, "RSA_AES_KEY_WRAP_256"));
        assertThrows(GeneralSecurityException.class, () -> KeyUnwrap.unwrap((RSAPrivateKey) kp.getPrivate(), wrapped, "A256KW"));
        // A wrap to another runtime key does not open.
        assertThrows(GeneralSecurityException.class, () -> KeyUnwrap.unwrap((RSAPrivateKey) rsa().getPrivate(), wrapped, "CKM_RSA_AES_KEY_WRAP"));
        assertThrows(GeneralSecurityException.class, () -> KeyUnwrap.aesUnwrapPadded(new byte[32], AesKeyWrapPad.wrap(new byte[32], new byte[5]).clone().length == 16
                ? new byte[15] : new byte[15]));
    }

    /** An ES256-signed compact JWS and its one-key JWK set. */
    record Signed(String jws, JsonNode jwks) {}

    static Signed sign(Object payload) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        String header = B64.encodeToString("{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JOSE\"}".getBytes(StandardCharsets.UTF_8));
        String body = B64.encodeToString(JSON.writeValueAsBytes(payload));
        Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
        s.initSign(kp.getPrivate());
        s.update((header + "." + body).getBytes(StandardCharsets.US_ASCII));
        ECPublicKey pub = (ECPublicKey) kp.getPublic();
        JsonNode jwks = JSON.valueToTree(Map.of("keys", List.of(Map.of("kty", "EC", "crv", "P-256", "kid", "k1",
                "x", B64.encodeToString(fixed(pub.getW().getAffineX())), "y", B64.encodeToString(fixed(pub.getW().getAffineY()))))));
        return new Signed(header + "." + body + "." + B64.encodeToString(s.sign()), jwks);
    }

    static byte[] fixed(java.math.BigInteger v) {
        byte[] b = v.toByteArray();
        byte[] out = new byte[32];
        System.arraycopy(b, Math.max(0, b.length - 32), out, Math.max(0, 32 - b.length), Math.min(32, b.length));
        return out;
    }

    static Map<String, Object> payload(String kid, String kty, byte[] wrapped, String enc) {
        String hsm = B64.encodeToString(("{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"" + kid + "\",\"alg\":\"dir\",\"enc\":\"" + enc
                + "\"},\"ciphertext\":\"" + B64.encodeToString(wrapped) + "\"}").getBytes(StandardCharsets.UTF_8));
        return Map.of("response", Map.of("key", Map.of("key", Map.of("kid", kid, "kty", kty, "key_hsm", hsm))));
    }

    @Test
    void verifiedPayloadOpensToAJwk() throws Exception {
        KeyPair kp = rsa();
        byte[] secret = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        byte[] wrapped = RsaAesKeyWrap.wrap((RSAPublicKey) kp.getPublic(), secret, KeyWrapAlgorithm.RSA_AES_KEY_WRAP_256);
        Signed s = sign(payload("http://v/keys/disk/abc", "oct-HSM", wrapped, "RSA_AES_KEY_WRAP_256"));
        JsonNode verified = CompactJws.verify(s.jws(), s.jwks());
        ObjectNode jwk = SecureKeyRelease.openRelease(verified, (RSAPrivateKey) kp.getPrivate(), "disk");
        assertEquals("oct", jwk.path("kty").asText());
        assertArrayEquals(secret, Base64.getUrlDecoder().decode(jwk.path("k").asText()));

        // The vault answering with a different key than asked for is refused.
        SkrException other = assertThrows(SkrException.class, () -> SecureKeyRelease.openRelease(verified, (RSAPrivateKey) kp.getPrivate(), "other"));
        assertEquals("release_response_invalid", other.code());
    }

    @Test
    void forgedOrMalformedJwsIsRefused() throws Exception {
        Signed s = sign(Map.of("response", "x"));
        String[] p = s.jws().split("\\.");
        String forgedPayload = p[0] + "." + B64.encodeToString("{\"response\":\"y\"}".getBytes(StandardCharsets.UTF_8)) + "." + p[2];
        SkrException forged = assertThrows(SkrException.class, () -> CompactJws.verify(forgedPayload, s.jwks()));
        assertTrue(forged.getMessage().contains("does not verify"), forged.getMessage());
        assertEquals("release_response_invalid", forged.code());

        Signed stranger = sign(Map.of("response", "x"));
        SkrException wrongKey = assertThrows(SkrException.class, () -> CompactJws.verify(stranger.jws(), s.jwks()));
        assertTrue(wrongKey.getMessage().contains("does not verify"), wrongKey.getMessage());

        String none = B64.encodeToString("{\"alg\":\"none\",\"kid\":\"k1\"}".getBytes(StandardCharsets.UTF_8)) + "." + p[1] + ".";
        assertTrue(assertThrows(SkrException.class, () -> CompactJws.verify(none, s.jwks())).getMessage().contains("'none'"));
        String unknownKid = B64.encodeToString("{\"alg\":\"ES256\",\"kid\":\"zz\"}".getBytes(StandardCharsets.UTF_8)) + "." + p[1] + "." + p[2];
        assertTrue(assertThrows(SkrException.class, () -> CompactJws.verify(unknownKid, s.jwks())).getMessage().contains("not in the key vault's JWK set"));
        for (String junk : new String[] {"", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30"}) {
            assertThrows(SkrException.class, () -> CompactJws.verify(junk, s.jwks()), junk);
        }
    }

    @Test
    void reportDataIsSha256ThenZeros() throws Exception {
        byte[] rd = SecureKeyRelease.reportData("abc".getBytes(StandardCharsets.US_ASCII));
        assertEquals(64, rd.length);
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", HexFormat.of().formatHex(rd, 0, 32));
        assertArrayEquals(new byte[32], java.util.Arrays.copyOfRange(rd, 32, 64));
    }

    @Test
    void endpointsAcceptBareHostsAndRefuseOtherSchemes() {
        assertEquals("https://myvault.vault.azure.net", Upstream.baseUrl("myvault.vault.azure.net", "akv_endpoint"));
        assertEquals("http://127.0.0.1:8400", Upstream.baseUrl("http://127.0.0.1:8400/", "akv_endpoint"));
        for (String bad : new String[] {"ftp://x", "http://u:p@x", "http://x/?q=1", "http://x/#f", "http://", " "}) {
            assertThrows(SkrException.class, () -> Upstream.baseUrl(bad, "akv_endpoint"), bad);
        }
    }
}
