package dev.coffer.channel;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * Public JWKs (RFC 7517) as the channel uses them: the signing keys of the vault and the
 * attestation service, and their RFC 7638 thumbprints, which is what a policy pins. A thumbprint
 * names the key itself, not a {@code kid} its holder may reuse for another key.
 */
public final class Jwk {
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    private Jwk() {}

    /** The public key of an {@code RSA} or {@code EC} (P-256, P-384) JWK. */
    public static PublicKey publicKey(JsonNode jwk) {
        String kty = jwk.path("kty").asText("");
        try {
            return switch (kty) {
                case "RSA" -> KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(uint(jwk, "n"), uint(jwk, "e")));
                case "EC" -> {
                    String curve = switch (jwk.path("crv").asText("")) {
                        case "P-256" -> "secp256r1";
                        case "P-384" -> "secp384r1";
                        default -> throw new ChannelFormatException("expected JWK curve P-256 or P-384, found '"
                                + jwk.path("crv").asText("") + "'");
                    };
                    AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
                    p.init(new ECGenParameterSpec(curve));
                    yield KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(
                            new ECPoint(uint(jwk, "x"), uint(jwk, "y")), p.getParameterSpec(ECParameterSpec.class)));
                }
                default -> throw new ChannelFormatException("expected a JWK of type RSA or EC, found '" + kty + "'");
            };
        } catch (GeneralSecurityException e) {
            throw new ChannelFormatException("unusable JWK '" + jwk.path("kid").asText("") + "': " + e.getMessage(), e);
        }
    }

    /**
     * The RFC 7638 thumbprint (SHA-256, base64url without padding) of a public JWK: the required
     * members only, in lexicographic order, no whitespace. Members are re-encoded from the key's
     * numbers, so a JWK with leading zero bytes in {@code n} has the same thumbprint as the key.
     */
    public static String thumbprint(JsonNode jwk) {
        return thumbprint(publicKey(jwk));
    }

    /** The RFC 7638 thumbprint of an RSA or EC public key. */
    public static String thumbprint(PublicKey key) {
        String canonical = switch (key) {
            case RSAPublicKey rsa -> "{\"e\":\"" + b64(rsa.getPublicExponent(), 0) + "\",\"kty\":\"RSA\",\"n\":\""
                    + b64(rsa.getModulus(), 0) + "\"}";
            case ECPublicKey ec -> {
                int bits = ec.getParams().getCurve().getField().getFieldSize();
                String crv = switch (bits) {
                    case 256 -> "P-256";
                    case 384 -> "P-384";
                    case 521 -> "P-521";
                    default -> throw new ChannelFormatException("expected an EC key on P-256, P-384 or P-521, found a " + bits + "-bit curve");
                };
                int size = (bits + 7) / 8;
                yield "{\"crv\":\"" + crv + "\",\"kty\":\"EC\",\"x\":\"" + b64(ec.getW().getAffineX(), size)
                        + "\",\"y\":\"" + b64(ec.getW().getAffineY(), size) + "\"}";
            }
            default -> throw new ChannelFormatException("expected an RSA or EC public key, found " + key.getAlgorithm());
        };
        return B64URL.encodeToString(sha256(canonical.getBytes(StandardCharsets.UTF_8)));
    }

    /** A big-endian unsigned integer as base64url, left-padded to {@code size} bytes (0: minimal). */
    public static String b64(BigInteger v, int size) {
        byte[] b = v.toByteArray();
        if (b.length > 1 && b[0] == 0) b = Arrays.copyOfRange(b, 1, b.length);
        if (size > b.length) {
            byte[] padded = new byte[size];
            System.arraycopy(b, 0, padded, size - b.length, b.length);
            b = padded;
        }
        return B64URL.encodeToString(b);
    }

    private static BigInteger uint(JsonNode jwk, String field) {
        String v = jwk.path(field).asText("");
        if (v.isEmpty()) throw new ChannelFormatException("JWK '" + jwk.path("kid").asText("") + "' has no '" + field + "'");
        return new BigInteger(1, CompactJws.b64(v, "JWK member '" + field + "'"));
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
