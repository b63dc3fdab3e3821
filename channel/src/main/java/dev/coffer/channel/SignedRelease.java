package dev.coffer.channel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The vault's signed release, Azure Key Vault's shape: a compact JWS whose payload is
 * {@code {request: {api-version, enc, kid}, response: {key: {key: JWK, attributes, release_policy}}}},
 * the JWK's {@code key_hsm} being base64url JSON {@code {schema_version, header: {kid, alg: dir,
 * enc}, ciphertext}} with the key material wrapped to the runtime key. The vault writes
 * {@link #keyHsm}; the releasing side checks the signature against a pinned key with
 * {@link #verify} and opens the wrapped key with {@link #open}.
 */
public final class SignedRelease {
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();
    private static final String WHAT = "the release response";

    private SignedRelease() {}

    /** The {@code key_hsm} member of a released JWK: the wrapped material and how it was wrapped. */
    public static String keyHsm(String kid, KeyWrapAlgorithm alg, byte[] wrapped) {
        Map<String, Object> hsm = new LinkedHashMap<>();
        hsm.put("schema_version", "1.0");
        hsm.put("header", Map.of("kid", kid, "alg", "dir", "enc", alg.name()));
        hsm.put("ciphertext", B64URL.encodeToString(wrapped));
        hsm.put("generator", "coffer key vault");
        try {
            return B64URL.encodeToString(CompactJws.JSON.writeValueAsBytes(hsm));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Verifies {@code jws} with the signing key its header names among {@code keys} (a JWK set,
     * from wherever it came) and returns the payload, but only when that key's RFC 7638
     * thumbprint is one of {@code pinned}: the set says which key a kid means, the pin says
     * which keys count. A release signed by any other key is refused with the pin named.
     *
     * @param pinned the release-signing key thumbprints the policy pins for this vault; never empty
     */
    public static JsonNode verify(String jws, JsonNode keys, Collection<String> pinned) {
        return verifyPinned(jws, keys, pinned, WHAT, "release-signing");
    }

    /**
     * {@code jws} verified with a key of {@code keys} whose thumbprint is pinned, whatever the
     * JWS is (a release, an attestation token); {@code role} names the key in errors.
     */
    public static JsonNode verifyPinned(String jws, JsonNode keys, Collection<String> pinned, String what, String role) {
        if (pinned.isEmpty()) throw new IllegalArgumentException("expected at least one pinned " + role + " key");
        CompactJws parsed = CompactJws.parse(jws, what);
        String kid = parsed.kid();
        List<String> offered = new ArrayList<>();
        for (JsonNode k : keys.path("keys")) {
            if (kid != null && !kid.equals(k.path("kid").asText(null))) continue;
            String thumbprint;
            PublicKey key;
            try {
                key = Jwk.publicKey(k);
                thumbprint = Jwk.thumbprint(key);
            } catch (ChannelFormatException e) {
                continue;
            }
            offered.add(thumbprint);
            if (pinned.contains(thumbprint) && parsed.verifiesWith(key)) return parsed.payloadJson(what);
        }
        throw new ChannelFormatException(what + " is not signed by the pinned " + role + " key: expected a signature by "
                + String.join(" or ", pinned) + " (RFC 7638 thumbprint, pinned by the policy), found it signed with kid '"
                + (kid == null ? "(none)" : kid) + "'" + (offered.isEmpty() ? " which the served key set does not hold"
                : " whose key has thumbprint " + String.join(", ", offered))
                + "; an answer signed by another key is refused (re-pin only if the service's key really changed: coffer server pins)");
    }

    /** The released JWK ({@code response.key.key}) of a verified payload, checked to be the key asked for. */
    public static Released open(JsonNode payload, String requestedKid) {
        JsonNode key = payload.path("response").path("key").path("key");
        if (!key.isObject()) throw new ChannelFormatException("expected response.key.key (the released JWK) in " + WHAT + ", found none");
        String releasedKid = key.path("kid").asText("");
        String name = requestedKid.contains("/") ? requestedKid.substring(0, requestedKid.indexOf('/')) : requestedKid;
        if (!releasedKid.contains("/keys/" + name + "/") && !releasedKid.equals(name) && !releasedKid.startsWith(name + "/")) {
            throw new ChannelFormatException("expected the vault to release key '" + safe(requestedKid) + "', found '"
                    + safe(releasedKid) + "' in " + WHAT);
        }
        JsonNode hsm;
        try {
            hsm = CompactJws.JSON.readTree(CompactJws.b64(key.path("key_hsm").asText(""), "key_hsm"));
        } catch (IOException e) {
            throw new ChannelFormatException("expected key_hsm as base64url of JSON, found other bytes");
        }
        if (hsm == null || !hsm.isObject()) throw new ChannelFormatException("expected key_hsm as a JSON object, found none");
        String enc = hsm.path("header").path("enc").asText("");
        KeyWrapAlgorithm alg = KeyWrapAlgorithm.fromName(enc);
        if (alg == null) throw new ChannelFormatException("expected key_hsm wrapping " + KeyWrapAlgorithm.names() + ", found '" + safe(enc) + "'");
        byte[] ciphertext = CompactJws.b64(hsm.path("ciphertext").asText(""), "key_hsm ciphertext");
        return new Released((ObjectNode) key, alg, ciphertext);
    }

    /**
     * A released key before it is unwrapped.
     *
     * @param jwk the released JWK as the vault wrote it (public members, {@code key_hsm})
     */
    public record Released(ObjectNode jwk, KeyWrapAlgorithm alg, byte[] ciphertext) {
        public Released {
            ciphertext = ciphertext.clone();
        }

        public String kty() {
            return jwk.path("kty").asText("");
        }

        public String kid() {
            return jwk.path("kid").asText("");
        }

        /** The key material (raw for oct, PKCS#8 DER for RSA and EC); the caller wipes it. */
        public byte[] unwrap(RSAPrivateKey runtimeKey) {
            try {
                return RsaAesKeyWrap.unwrap(runtimeKey, ciphertext, alg);
            } catch (GeneralSecurityException e) {
                throw new ChannelFormatException("cannot unwrap the released key with the runtime key: " + e.getMessage(), e);
            }
        }
    }

    /** The payload of a release JWS without checking its signature: for the side that trusts its channel (tests, the vault's own client). */
    public static JsonNode unverifiedPayload(String jws) {
        return CompactJws.parse(jws, WHAT).payloadJson(WHAT);
    }

    static String safe(String s) {
        if (s == null) return "";
        String t = s.length() > 100 ? s.substring(0, 100) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
