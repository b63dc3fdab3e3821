package dev.coffer.channel;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The runtime key claim: what the releasing side writes is what the vault reads, and bad claims are refused. */
class RuntimeKeyTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static RSAPublicKey rsa(int bits) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(bits);
        return (RSAPublicKey) g.generateKeyPair().getPublic();
    }

    @Test
    void runtimeDataAsATokenClaimGivesBackTheKey() throws Exception {
        RSAPublicKey key = rsa(2048);
        var claims = JSON.createObjectNode().set(RuntimeKey.CLAIM, JSON.readTree(RuntimeKey.runtimeData(key)));
        assertEquals(key, RuntimeKey.fromClaims(claims));
        assertTrue(new String(RuntimeKey.runtimeData(key)).startsWith("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"TpmEphemeralEncryptionKey\""));
        // the kid the sidecar uses wins over another RSA key listed first
        var other = JSON.readTree(RuntimeKey.runtimeData(rsa(2048))).path("keys").get(0).deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) other).put("kid", "other");
        var two = JSON.createObjectNode().set(RuntimeKey.CLAIM, JSON.valueToTree(Map.of("keys",
                List.of(other, JSON.readTree(RuntimeKey.runtimeData(key)).path("keys").get(0)))));
        assertEquals(key, RuntimeKey.fromClaims(two));
    }

    @Test
    void missingShortOrNonRsaKeysAreRefused() throws Exception {
        assertTrue(assertThrows(ChannelFormatException.class, () -> RuntimeKey.fromClaims(JSON.readTree("{}"))).getMessage()
                .contains("no runtime key"));
        var ec = JSON.readTree("{\"x-ms-runtime\":{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}}");
        assertTrue(assertThrows(ChannelFormatException.class, () -> RuntimeKey.fromClaims(ec)).getMessage().contains("no RSA key"));
        var shortKey = JSON.createObjectNode().set(RuntimeKey.CLAIM, JSON.readTree(RuntimeKey.runtimeData(rsa(1024))));
        assertTrue(assertThrows(ChannelFormatException.class, () -> RuntimeKey.fromClaims(shortKey)).getMessage().contains("1024 bits"));
    }
}
