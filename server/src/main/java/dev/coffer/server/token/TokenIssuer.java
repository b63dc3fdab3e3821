package dev.coffer.server.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;

import dev.coffer.server.http.Json;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.util.BigIntegers;

import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Signs attestation tokens (JWT) and key-release responses (JWS) with the active key of the
 * configured algorithm. Signers are cached per key id, so rotation takes effect at once.
 *
 * <p>ES256 is signed here with Bouncy Castle's P-256 (specialised field arithmetic, fixed-base
 * comb; deterministic nonces per RFC 6979) over JSON written by Jackson: on CPUs without
 * AVX-512 the JDK's generic P-256 signing cost about three times as much, and signing was a
 * quarter of the CPU of an attestation. The output is an ordinary compact JWS (raw R||S), which
 * any JOSE library verifies. RS256 goes through Nimbus as before.
 */
public final class TokenIssuer {
    private final SigningKeyRing ring;
    private final String issuer;
    private final JWSAlgorithm alg;
    private final Duration lifetime;
    private final Clock clock;
    private volatile CachedSigner cached;

    private static final X9ECParameters P256 = CustomNamedCurves.getByName("secp256r1");
    private static final ECDomainParameters P256_DOMAIN = new ECDomainParameters(P256);
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    /** Either a Nimbus signer (RS256) or the P-256 private scalar (ES256). */
    private record CachedSigner(String kid, JWSSigner signer, ECPrivateKeyParameters es256) {}

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
        if (s.es256 != null) return signEs256(s, payload, type);
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

    private String signEs256(CachedSigner s, Map<String, Object> payload, JOSEObjectType type) {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("alg", JWSAlgorithm.ES256.getName());
        header.put("jku", issuer + "/certs");
        header.put("kid", s.kid);
        header.put("typ", type.getType());
        String signingInput = B64URL.encodeToString(Json.bytes(header)) + "." + B64URL.encodeToString(Json.bytes(payload));
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(signingInput.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        ECDSASigner ecdsa = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
        ecdsa.init(true, s.es256);
        BigInteger[] rs = ecdsa.generateSignature(digest);
        byte[] sig = new byte[64];
        BigIntegers.asUnsignedByteArray(rs[0], sig, 0, 32);
        BigIntegers.asUnsignedByteArray(rs[1], sig, 32, 32);
        return signingInput + "." + B64URL.encodeToString(sig);
    }

    private CachedSigner signer() {
        SigningKeyRing.Entry active = ring.active(alg);
        CachedSigner c = cached;
        if (c != null && c.kid.equals(active.kid())) return c;
        try {
            if (active.jwk() instanceof ECKey ec) {
                if (!Curve.P_256.equals(ec.getCurve())) {
                    throw new IllegalStateException("ES256 needs a P-256 key, but key " + active.kid() + " is on " + ec.getCurve());
                }
                c = new CachedSigner(active.kid(), null, new ECPrivateKeyParameters(ec.toECPrivateKey().getS(), P256_DOMAIN));
            } else {
                c = new CachedSigner(active.kid(), new RSASSASigner((RSAKey) active.jwk()), null);
            }
            cached = c;
            return c;
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot use signing key " + active.kid() + ": " + e.getMessage(), e);
        }
    }
}
