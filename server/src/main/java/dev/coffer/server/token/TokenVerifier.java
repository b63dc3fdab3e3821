package dev.coffer.server.token;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import dev.coffer.channel.ChannelFormatException;
import dev.coffer.channel.CompactJws;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.function.Predicate;

/**
 * Checks an attestation token presented for key release: compact JWS, an accepted algorithm,
 * an issuer the caller trusts, a signature by that issuer's key, and the validity period
 * ({@code exp} required; {@code nbf} honoured) with a small clock skew allowance. The JWS itself
 * is read and verified by the channel's {@link CompactJws}, the code the agent checks releases with.
 */
public final class TokenVerifier {
    private static final int MAX_TOKEN_CHARS = 64 * 1024;

    private final IssuerKeys keys;
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
        CompactJws jws;
        JsonNode claims;
        try {
            jws = CompactJws.parse(token.strip(), "the attestation token");
            claims = jws.payloadJson("the attestation token");
        } catch (ChannelFormatException e) {
            throw new ApiException(ErrorCode.TOKEN_MALFORMED, e.getMessage());
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
        String kid = jws.kid();
        if (kid == null) {
            throw new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID, "token header has no 'kid'; cannot pick the issuer's key");
        }
        JWK key = keys.find(issuer, kid).orElseThrow(() -> new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID,
                "issuer " + issuer + " has no signing key '" + kid + "' in its JWKS"));
        PublicKey publicKey;
        try {
            publicKey = switch (key) {
                case ECKey ec -> ec.toECPublicKey();
                case RSAKey rsa -> rsa.toRSAPublicKey();
                default -> throw new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID, "issuer key " + kid + " is neither EC nor RSA");
            };
        } catch (JOSEException e) {
            throw new ApiException(ErrorCode.TOKEN_SIGNATURE_INVALID, "issuer key " + kid + " is unusable: " + e.getMessage());
        }
        if (!jws.verifiesWith(publicKey)) {
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
                (ObjectNode) claims, sha256Hex(new String(jws.payload(), StandardCharsets.UTF_8)));
    }

    static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
