package dev.coffer.server.token;

import com.nimbusds.jose.jwk.Curve;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Checks an attestation token presented for key release: compact JWS, an accepted algorithm,
 * an issuer the caller trusts, a signature by that issuer's key, and the validity period
 * ({@code exp} required; {@code nbf} honoured) with a small clock skew allowance.
 */
public final class TokenVerifier {
    private static final Set<JWSAlgorithm> ACCEPTED = Set.of(JWSAlgorithm.ES256, JWSAlgorithm.ES384,
            JWSAlgorithm.RS256, JWSAlgorithm.PS256);
    private static final int MAX_TOKEN_CHARS = 64 * 1024;

    private static final X9ECParameters P256 = CustomNamedCurves.getByName("secp256r1");
    private static final ECDomainParameters P256_DOMAIN = new ECDomainParameters(P256);

    private final IssuerKeys keys;
    private final Map<ECKey, ECPublicKeyParameters> es256Keys = new ConcurrentHashMap<>();
    private final Clock clock;
    private final Duration skew;

    public TokenVerifier(IssuerKeys keys, Clock clock, Duration skew) {
        this.keys = keys;
        this.clock = clock;
        this.skew = skew;
    }

    public VerifiedToken verify(String token, Predicate<String> trustedIssuer, String trustedDescription) {
        if (token.length() > MAX_TOKEN_CHARS) {
            throw new ApiException(ErrorCode.TOKEN_MALFORMED, "token is " + token.length() + " characters; the limit is " + MAX_TOKEN_CHARS);
        }
        JWSObject jws;
        try {
            jws = JWSObject.parse(token.strip());
        } catch (ParseException e) {
            throw new ApiException(ErrorCode.TOKEN_MALFORMED, "target is not a compact JWS attestation token (" + e.getMessage() + ")");
        }
        JWSAlgorithm alg = jws.getHeader().getAlgorithm();
        if (!ACCEPTED.contains(alg)) {
            throw new ApiException(ErrorCode.TOKEN_MALFORMED, "token algorithm " + alg + " is not accepted; expected one of ES256, ES384, RS256, PS256");
        }
        ObjectNode claims;
        try {
            JsonNode node = Json.parse(jws.getPayload().toString());
            if (!(node instanceof ObjectNode o)) throw new IOException("payload is not a JSON object");
            claims = o;
        } catch (IOException e) {
            throw new ApiException(ErrorCode.TOKEN_MALFORMED, "token payload is not a JSON claims object (" + e.getMessage() + ")");
        }
        JsonNode issNode = claims.get("iss");
        if (issNode == null || !issNode.isTextual()) {
            throw new ApiException(ErrorCode.TOKEN_MALFORMED, "token has no 'iss' claim");
        }
        String issuer = issNode.textValue();
        if (!trustedIssuer.test(IssuerKeys.normalize(issuer))) {
            throw new ApiException(ErrorCode.TOKEN_ISSUER_UNTRUSTED, "token issuer '" + issuer
                    + "' is not an authority of the release policy (" + trustedDescription + ")");
        }
        String kid = jws.getHeader().getKeyID();
        if (kid == null) {
            throw new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID, "token header has no 'kid'; cannot pick the issuer's key");
        }
        JWK key = keys.find(issuer, kid).orElseThrow(() -> new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID,
                "issuer " + issuer + " has no signing key '" + kid + "' in its JWKS"));
        boolean valid;
        try {
            if (key instanceof ECKey ec && alg.equals(JWSAlgorithm.ES256) && Curve.P_256.equals(ec.getCurve())
                    && jws.getHeader().getCriticalParams() == null) {
                valid = verifyEs256(ec, jws);
            } else {
                JWSVerifier verifier = switch (key) {
                case ECKey ec -> new ECDSAVerifier(ec);
                case RSAKey rsa -> new RSASSAVerifier(rsa);
                default -> throw new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID, "issuer key " + kid + " is neither EC nor RSA");
            };
                valid = jws.verify(verifier);
            }
        } catch (JOSEException e) {
            valid = false;
        }
        if (!valid) {
            throw new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID, "token signature does not verify with issuer key " + kid);
        }
        long now = clock.instant().getEpochSecond();
        JsonNode exp = claims.get("exp");
        if (exp == null || !exp.isNumber()) {
            throw new ApiException(ErrorCode.TOKEN_MALFORMED, "token has no numeric 'exp' claim");
        }
        if (now > exp.asLong() + skew.toSeconds()) {
            throw new ApiException(ErrorCode.TOKEN_EXPIRED, "token expired at " + java.time.Instant.ofEpochSecond(exp.asLong())
                    + "; obtain a fresh token from the attestation service");
        }
        JsonNode nbf = claims.get("nbf");
        if (nbf != null && nbf.isNumber() && now + skew.toSeconds() < nbf.asLong()) {
            throw new ApiException(ErrorCode.TOKEN_NOT_YET_VALID, "token is not valid before "
                    + java.time.Instant.ofEpochSecond(nbf.asLong()) + "; check the clocks");
        }
        JsonNode jti = claims.get("jti");
        return new VerifiedToken(IssuerKeys.normalize(issuer), jti != null && jti.isTextual() ? jti.textValue() : null,
                claims, sha256Hex(jws.getPayload().toString()));
    }

    /**
     * ES256 with Bouncy Castle's P-256: the JDK's generic P-256 verification was the largest CPU
     * cost of a release on CPUs without AVX-512. One parsed key per JWK is kept (bounded), which
     * also keeps BC's precomputed multiples of the issuer's point.
     */
    private boolean verifyEs256(ECKey ec, JWSObject jws) throws JOSEException {
        byte[] sig = jws.getSignature().decode();
        if (sig.length != 64) return false;
        ECPublicKeyParameters pub = es256Keys.get(ec);
        if (pub == null) {
            var w = ec.toECPublicKey().getW();
            try {
                pub = new ECPublicKeyParameters(P256.getCurve().validatePoint(w.getAffineX(), w.getAffineY()), P256_DOMAIN);
            } catch (IllegalArgumentException e) {
                return false;
            }
            if (es256Keys.size() >= 256) es256Keys.clear();
            es256Keys.put(ec, pub);
        }
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(jws.getSigningInput());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        ECDSASigner verifier = new ECDSASigner();
        verifier.init(false, pub);
        return verifier.verifySignature(digest, new BigInteger(1, Arrays.copyOfRange(sig, 0, 32)),
                new BigInteger(1, Arrays.copyOfRange(sig, 32, 64)));
    }

    static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
