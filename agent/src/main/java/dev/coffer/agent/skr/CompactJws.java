package dev.coffer.agent.skr;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;

/**
 * Verification of a compact JWS against a JWK set, with the JDK's providers only (the guest
 * runtime carries no JOSE library). Accepts what the attestation service and key vault sign
 * with: ES256, ES384, RS256, PS256.
 */
final class CompactJws {
    private CompactJws() {}

    /** The header's {@code kid}, read before the key set is fetched. */
    static String kid(String jws) {
        return header(split(jws)).path("kid").asText(null);
    }

    /** Verifies the signature with the key named by the header's {@code kid} and returns the payload JSON. */
    static JsonNode verify(String jws, JsonNode jwks) {
        String[] parts = split(jws);
        JsonNode header = header(parts);
        String alg = header.path("alg").asText("");
        String kid = header.path("kid").asText(null);
        JsonNode jwk = null;
        for (JsonNode k : jwks.path("keys")) {
            if (kid != null && kid.equals(k.path("kid").asText(null))) jwk = k;
        }
        if (jwk == null) {
            throw invalid("the release response is signed with key '" + (kid == null ? "(no kid)" : kid)
                    + "', which is not in the key vault's JWK set");
        }
        PublicKey key = publicKey(jwk);
        boolean ok;
        try {
            Signature sig = switch (alg) {
                case "ES256" -> ec(key, "SHA256withECDSAinP1363Format", 256);
                case "ES384" -> ec(key, "SHA384withECDSAinP1363Format", 384);
                case "RS256" -> rsa(key, Signature.getInstance("SHA256withRSA"));
                case "PS256" -> {
                    Signature s = rsa(key, Signature.getInstance("RSASSA-PSS"));
                    s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
                    yield s;
                }
                default -> throw invalid("the release response uses JWS algorithm '" + alg + "'; expected ES256, ES384, RS256 or PS256");
            };
            sig.initVerify(key);
            sig.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            ok = sig.verify(b64(parts[2], "signature"));
        } catch (GeneralSecurityException e) {
            throw invalid("cannot verify the release response signature: " + e.getMessage());
        }
        if (!ok) throw invalid("the release response signature does not verify with key '" + kid + "'");
        try {
            return Upstream.JSON.readTree(b64(parts[1], "payload"));
        } catch (IOException e) {
            throw invalid("the release response payload is not JSON");
        }
    }

    private static Signature ec(PublicKey key, String name, int bits) throws GeneralSecurityException {
        if (!(key instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != bits) {
            throw new GeneralSecurityException("key does not match the algorithm: expected an EC P-" + bits + " key");
        }
        return Signature.getInstance(name);
    }

    private static Signature rsa(PublicKey key, Signature s) throws GeneralSecurityException {
        if (!(key instanceof RSAPublicKey)) throw new GeneralSecurityException("key does not match the algorithm: expected an RSA key");
        return s;
    }

    static PublicKey publicKey(JsonNode jwk) {
        try {
            return switch (jwk.path("kty").asText("")) {
                case "RSA" -> KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(
                        uint(jwk, "n"), uint(jwk, "e")));
                case "EC" -> {
                    String curve = switch (jwk.path("crv").asText("")) {
                        case "P-256" -> "secp256r1";
                        case "P-384" -> "secp384r1";
                        default -> throw invalid("JWK curve '" + jwk.path("crv").asText("") + "' is not P-256 or P-384");
                    };
                    AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
                    p.init(new ECGenParameterSpec(curve));
                    yield KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(
                            new ECPoint(uint(jwk, "x"), uint(jwk, "y")), p.getParameterSpec(ECParameterSpec.class)));
                }
                default -> throw invalid("JWK type '" + jwk.path("kty").asText("") + "' cannot verify a JWS; expected RSA or EC");
            };
        } catch (GeneralSecurityException e) {
            throw invalid("unusable JWK '" + jwk.path("kid").asText("") + "': " + e.getMessage());
        }
    }

    private static BigInteger uint(JsonNode jwk, String field) {
        String v = jwk.path(field).asText("");
        if (v.isEmpty()) throw invalid("JWK '" + jwk.path("kid").asText("") + "' has no '" + field + "'");
        return new BigInteger(1, b64(v, "JWK " + field));
    }

    private static String[] split(String jws) {
        String[] parts = jws == null ? new String[0] : jws.split("\\.", -1);
        if (parts.length != 3) throw invalid("the release response 'value' is not a compact JWS (three dot-separated parts)");
        return parts;
    }

    private static JsonNode header(String[] parts) {
        try {
            JsonNode h = Upstream.JSON.readTree(b64(parts[0], "header"));
            if (h == null || !h.isObject()) throw invalid("the release response JWS header is not a JSON object");
            return h;
        } catch (IOException e) {
            throw invalid("the release response JWS header is not JSON");
        }
    }

    static byte[] b64(String s, String what) {
        try {
            return Base64.getUrlDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw invalid(what + " is not base64url");
        }
    }

    static SkrException invalid(String message) {
        return new SkrException(502, "release_response_invalid", message);
    }
}
