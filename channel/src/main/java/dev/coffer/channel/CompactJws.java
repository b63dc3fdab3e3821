package dev.coffer.channel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Set;

/**
 * A compact JWS (RFC 7515) as both ends of the key channel read it: the attestation token the
 * vault checks and the signed release the agent checks. Signatures are verified with the JDK's
 * providers, ES256 with Bouncy Castle's P-256 (the JDK's generic P-256 was the largest CPU cost
 * of a release on CPUs without AVX-512). Accepted: ES256, ES384, RS256, PS256; a header with
 * {@code crit} is refused, since no extension is understood.
 *
 * @param signingInput the ASCII {@code header.payload} the signature covers
 */
public record CompactJws(JsonNode header, byte[] payload, byte[] signature, String signingInput) {
    /** What either end accepts; {@code none} and HMAC never. */
    public static final Set<String> ALGORITHMS = Set.of("ES256", "ES384", "RS256", "PS256");
    /** A token or release is a few KiB; anything near this is not one. */
    public static final int MAX_CHARS = 256 * 1024;

    static final ObjectMapper JSON = new ObjectMapper();
    private static final X9ECParameters P256 = CustomNamedCurves.getByName("secp256r1");
    private static final ECDomainParameters P256_DOMAIN = new ECDomainParameters(P256);
    /**
     * Validated points of the few issuer keys seen (bounded): validation is a point check per
     * call otherwise, and BC keeps its precomputed multiples with the point.
     */
    private static final java.util.concurrent.ConcurrentHashMap<java.security.spec.ECPoint, ECPublicKeyParameters> P256_KEYS =
            new java.util.concurrent.ConcurrentHashMap<>();

    public CompactJws {
        payload = payload.clone();
        signature = signature.clone();
    }

    /** Parses {@code jws} ({@code what} names it in errors, e.g. "the release response"). */
    public static CompactJws parse(String jws, String what) {
        if (jws == null || jws.isEmpty()) throw new ChannelFormatException("expected " + what + " as a compact JWS, found nothing");
        if (jws.length() > MAX_CHARS) {
            throw new ChannelFormatException(what + " is " + jws.length() + " characters; expected at most " + MAX_CHARS);
        }
        String[] parts = jws.strip().split("\\.", -1);
        if (parts.length != 3) {
            throw new ChannelFormatException("expected " + what + " as a compact JWS (three dot-separated parts), found "
                    + parts.length + " part(s)");
        }
        JsonNode header;
        try {
            header = JSON.readTree(b64(parts[0], what + " header"));
        } catch (IOException e) {
            throw new ChannelFormatException(what + " header is not JSON");
        }
        if (header == null || !header.isObject()) throw new ChannelFormatException(what + " header is not a JSON object");
        String alg = header.path("alg").asText("");
        if (!ALGORITHMS.contains(alg)) {
            throw new ChannelFormatException(what + " uses JWS algorithm '" + alg + "'; expected one of ES256, ES384, RS256, PS256");
        }
        if (header.has("crit")) {
            throw new ChannelFormatException(what + " header has 'crit' " + header.get("crit") + "; no JWS extension is understood");
        }
        return new CompactJws(header, b64(parts[1], what + " payload"), b64(parts[2], what + " signature"),
                parts[0] + "." + parts[1]);
    }

    /** A copy: the record's bytes stay as parsed. */
    @Override
    public byte[] payload() {
        return payload.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    public String alg() {
        return header.path("alg").asText("");
    }

    /** The header's {@code kid}, or null. */
    public String kid() {
        JsonNode k = header.get("kid");
        return k != null && k.isTextual() ? k.textValue() : null;
    }

    /** The payload as a JSON object. */
    public JsonNode payloadJson(String what) {
        try {
            JsonNode n = JSON.readTree(payload);
            if (n == null || !n.isObject()) throw new ChannelFormatException(what + " payload is not a JSON object");
            return n;
        } catch (IOException e) {
            throw new ChannelFormatException(what + " payload is not JSON");
        }
    }

    /** True when the signature verifies with {@code key} under the header's algorithm; false for a key of the wrong kind. */
    public boolean verifiesWith(PublicKey key) {
        byte[] input = signingInput.getBytes(StandardCharsets.US_ASCII);
        try {
            return switch (alg()) {
                case "ES256" -> key instanceof ECPublicKey ec && bits(ec) == 256 && es256(ec, input);
                case "ES384" -> key instanceof ECPublicKey ec && bits(ec) == 384
                        && jdk(Signature.getInstance("SHA384withECDSAinP1363Format"), key, input);
                case "RS256" -> key instanceof RSAPublicKey && jdk(Signature.getInstance("SHA256withRSA"), key, input);
                case "PS256" -> {
                    if (!(key instanceof RSAPublicKey)) yield false;
                    Signature s = Signature.getInstance("RSASSA-PSS");
                    s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
                    yield jdk(s, key, input);
                }
                default -> false;
            };
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private boolean jdk(Signature s, PublicKey key, byte[] input) throws GeneralSecurityException {
        s.initVerify(key);
        s.update(input);
        return s.verify(signature);
    }

    private boolean es256(ECPublicKey key, byte[] input) {
        if (signature.length != 64) return false;
        ECPublicKeyParameters pub = P256_KEYS.get(key.getW());
        if (pub == null) {
            try {
                pub = new ECPublicKeyParameters(P256.getCurve().validatePoint(key.getW().getAffineX(), key.getW().getAffineY()), P256_DOMAIN);
            } catch (IllegalArgumentException e) {
                return false;
            }
            if (P256_KEYS.size() >= 256) P256_KEYS.clear();
            P256_KEYS.put(key.getW(), pub);
        }
        ECDSASigner verifier = new ECDSASigner();
        verifier.init(false, pub);
        return verifier.verifySignature(Jwk.sha256(input), new BigInteger(1, Arrays.copyOfRange(signature, 0, 32)),
                new BigInteger(1, Arrays.copyOfRange(signature, 32, 64)));
    }

    private static int bits(ECPublicKey k) {
        return k.getParams().getCurve().getField().getFieldSize();
    }

    /** base64url (padding tolerated), or a precise error naming {@code what}. */
    public static byte[] b64(String s, String what) {
        try {
            return Base64.getUrlDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new ChannelFormatException("expected " + what + " as base64url, found other characters");
        }
    }
}
