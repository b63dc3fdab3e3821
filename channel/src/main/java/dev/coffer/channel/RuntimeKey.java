package dev.coffer.channel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.security.interfaces.RSAPublicKey;

/**
 * The runtime key in the attestation token, the claim both ends read: the releasing side
 * sends its RSA public key as the runtime data {@code {"keys":[{kty:RSA, kid:
 * "TpmEphemeralEncryptionKey", key_ops:[encrypt], n, e}]}} (SHA-256 of those exact bytes is in
 * REPORT_DATA), the attestation service puts that JSON in the token's {@code x-ms-runtime}
 * claim, and the vault wraps the released key to it.
 */
public final class RuntimeKey {
    /** The token claim holding the runtime data (MAA's name). */
    public static final String CLAIM = "x-ms-runtime";
    /** The kid the SKR sidecar gives its key and the vault prefers. */
    public static final String KID = "TpmEphemeralEncryptionKey";
    /** Below this a wrapped key is only as strong as a factorable modulus. */
    public static final int MIN_BITS = 2048;

    private RuntimeKey() {}

    /** The exact runtime-data bytes for {@code key}. */
    public static byte[] runtimeData(RSAPublicKey key) {
        ObjectNode jwk = CompactJws.JSON.createObjectNode();
        jwk.put("kty", "RSA");
        jwk.put("kid", KID);
        jwk.putArray("key_ops").add("encrypt");
        jwk.put("n", Jwk.b64(key.getModulus(), 0));
        jwk.put("e", Jwk.b64(key.getPublicExponent(), 0));
        ObjectNode set = CompactJws.JSON.createObjectNode();
        set.putArray("keys").add(jwk);
        try {
            return CompactJws.JSON.writeValueAsBytes(set);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The RSA key to wrap to, from a token's claims: in {@code x-ms-runtime.keys}, the one with
     * kid {@link #KID}, else the first RSA key.
     *
     * @throws ChannelFormatException when there is none, or it is malformed or short
     */
    public static RSAPublicKey fromClaims(JsonNode claims) {
        JsonNode keys = claims.path(CLAIM).path("keys");
        if (!keys.isArray() || keys.isEmpty()) {
            throw new ChannelFormatException("token has no runtime key: expected claim " + CLAIM + ".keys with an RSA JWK");
        }
        JsonNode chosen = null;
        for (JsonNode k : keys) {
            if ("RSA".equals(k.path("kty").asText()) && (chosen == null || KID.equals(k.path("kid").asText()))) chosen = k;
        }
        if (chosen == null) throw new ChannelFormatException(CLAIM + ".keys holds no RSA key to wrap the released key to");
        RSAPublicKey pub = (RSAPublicKey) Jwk.publicKey(chosen);
        if (pub.getModulus().bitLength() < MIN_BITS) {
            throw new ChannelFormatException("runtime RSA key is " + pub.getModulus().bitLength() + " bits; at least " + MIN_BITS + " required");
        }
        return pub;
    }
}
