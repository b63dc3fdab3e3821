package dev.coffer.agent.skr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.channel.Jwk;
import dev.coffer.channel.KeyWrapAlgorithm;
import dev.coffer.channel.RsaAesKeyWrap;
import dev.coffer.channel.SignedRelease;
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
    void unwrapsWhatTheVaultWrapsAndRejectsTampering() throws Exception {
        // the vault's wrap (channel, as KeyVault calls it) opened by the agent's release path
        KeyPair kp = rsa();
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        for (KeyWrapAlgorithm alg : KeyWrapAlgorithm.values()) {
            byte[] wrapped = RsaAesKeyWrap.wrap((RSAPublicKey) kp.getPublic(), secret, alg);
            JsonNode payload = JSON.valueToTree(payload("disk", "oct-HSM", wrapped, alg.name()));
            ObjectNode jwk = SecureKeyRelease.openRelease(payload, (RSAPrivateKey) kp.getPrivate(), "disk");
            assertArrayEquals(secret, Base64.getUrlDecoder().decode(jwk.path("k").asText()));
            byte[] tampered = wrapped.clone();
            tampered[tampered.length - 3] ^= 1;
            SkrException t = assertThrows(SkrException.class, () -> SecureKeyRelease.openRelease(
                    JSON.valueToTree(payload("disk", "oct-HSM", tampered, alg.name())), (RSAPrivateKey) kp.getPrivate(), "disk"));
            assertTrue(t.getMessage().contains("integrity check failed"), t.getMessage());
            assertThrows(SkrException.class, () -> SecureKeyRelease.openRelease(JSON.valueToTree(payload("disk", "oct-HSM",
                    java.util.Arrays.copyOf(wrapped, 200), alg.name())), (RSAPrivateKey) kp.getPrivate(), "disk"));
        }
        byte[] wrapped = RsaAesKeyWrap.wrap((RSAPublicKey) kp.getPublic(), secret, KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP);
        // The wrong OAEP digest must not yield a key, nor an unknown wrapping, nor another runtime key.
        assertThrows(SkrException.class, () -> SecureKeyRelease.openRelease(JSON.valueToTree(payload("disk", "oct-HSM", wrapped,
                "RSA_AES_KEY_WRAP_256")), (RSAPrivateKey) kp.getPrivate(), "disk"));
        SkrException unknown = assertThrows(SkrException.class, () -> SecureKeyRelease.openRelease(JSON.valueToTree(payload("disk",
                "oct-HSM", wrapped, "A256KW")), (RSAPrivateKey) kp.getPrivate(), "disk"));
        assertTrue(unknown.getMessage().contains("'A256KW'"), unknown.getMessage());
        assertThrows(SkrException.class, () -> SecureKeyRelease.openRelease(JSON.valueToTree(payload("disk", "oct-HSM", wrapped,
                "CKM_RSA_AES_KEY_WRAP")), (RSAPrivateKey) rsa().getPrivate(), "disk"));
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
        JsonNode verified = SignedRelease.verify(s.jws(), s.jwks(), List.of(Jwk.thumbprint(s.jwks().path("keys").get(0))));
        ObjectNode jwk = SecureKeyRelease.openRelease(verified, (RSAPrivateKey) kp.getPrivate(), "disk");
        assertEquals("oct", jwk.path("kty").asText());
        assertArrayEquals(secret, Base64.getUrlDecoder().decode(jwk.path("k").asText()));

        // The vault answering with a different key than asked for is refused.
        SkrException other = assertThrows(SkrException.class, () -> SecureKeyRelease.openRelease(verified, (RSAPrivateKey) kp.getPrivate(), "other"));
        assertEquals("release_response_invalid", other.code());
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
        assertTrue(KeyChannelTrust.isLoopback("127.0.0.1") && KeyChannelTrust.isLoopback("[::1]") && KeyChannelTrust.isLoopback("localhost"));
        assertFalse(KeyChannelTrust.isLoopback("10.0.2.2") || KeyChannelTrust.isLoopback("vault.example"));
        assertEquals("https://myvault.vault.azure.net", Upstream.baseUrl("myvault.vault.azure.net", "akv_endpoint"));
        assertEquals("http://127.0.0.1:8400", Upstream.baseUrl("http://127.0.0.1:8400/", "akv_endpoint"));
        for (String bad : new String[] {"ftp://x", "http://u:p@x", "http://x/?q=1", "http://x/#f", "http://", " "}) {
            assertThrows(SkrException.class, () -> Upstream.baseUrl(bad, "akv_endpoint"), bad);
        }
    }
}
