package dev.coffer.server.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Signs attestation tokens (JWT) and key-release responses (JWS) with the active key of the
 * configured algorithm. Signers are cached per key id, so rotation takes effect at once.
 */
public final class TokenIssuer {
    private final SigningKeyRing ring;
    private final String issuer;
    private final JWSAlgorithm alg;
    private final Duration lifetime;
    private final Clock clock;
    private volatile CachedSigner cached;

    private record CachedSigner(String kid, JWSSigner signer) {}

    public TokenIssuer(SigningKeyRing ring, String issuer, JWSAlgorithm alg, Duration lifetime, Clock clock) {
        if (!alg.equals(JWSAlgorithm.ES256) && !alg.equals(JWSAlgorithm.RS256)) {
            throw new IllegalArgumentException("token algorithm must be ES256 or RS256, found " + alg);
        }
        this.ring = ring;
        this.issuer = issuer;
        this.alg = alg;
        this.lifetime = lifetime;
        this.clock = clock;
    }

    public String issuer() {
        return issuer;
    }

    public Duration lifetime() {
        return lifetime;
    }

    /** A JWT carrying {@code claims} plus {@code iss, iat, nbf, exp, jti}. */
    public String issue(Map<String, Object> claims) {
        long now = clock.instant().getEpochSecond();
        Map<String, Object> body = new LinkedHashMap<>(claims);
        body.put("iss", issuer);
        body.put("iat", now);
        body.put("nbf", now);
        body.put("exp", now + lifetime.toSeconds());
        body.put("jti", UUID.randomUUID().toString());
        return sign(body, JOSEObjectType.JWT);
    }

    /** A compact JWS over an arbitrary JSON payload (key release responses). */
    public String sign(Map<String, Object> payload, JOSEObjectType type) {
        CachedSigner s = signer();
        JWSHeader header = new JWSHeader.Builder(alg).type(type).keyID(s.kid)
                .jwkURL(URI.create(issuer + "/certs")).build();
        JWSObject jws = new JWSObject(header, new Payload(payload));
        try {
            jws.sign(s.signer);
        } catch (JOSEException e) {
            throw new IllegalStateException("signing with key " + s.kid + " failed: " + e.getMessage(), e);
        }
        return jws.serialize();
    }

    private CachedSigner signer() {
        SigningKeyRing.Entry active = ring.active(alg);
        CachedSigner c = cached;
        if (c != null && c.kid.equals(active.kid())) return c;
        try {
            JWSSigner signer = active.jwk() instanceof ECKey ec ? new ECDSASigner(ec) : new RSASSASigner((RSAKey) active.jwk());
            c = new CachedSigner(active.kid(), signer);
            cached = c;
            return c;
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot use signing key " + active.kid() + ": " + e.getMessage(), e);
        }
    }
}
