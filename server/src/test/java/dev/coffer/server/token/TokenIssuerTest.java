package dev.coffer.server.token;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Tokens from the issuer's own ES256 signing verify with independent implementations (Nimbus, the JDK). */
class TokenIssuerTest {
    @Test
    void es256TokensVerifyWithNimbusAndTheJdk(@TempDir Path dir) throws Exception {
        SigningKeyRing ring = SigningKeyRing.open(dir.resolve("keys.json"), Duration.ofMinutes(5), Clock.systemUTC());
        TokenIssuer issuer = new TokenIssuer(ring, "https://coffer.test", JWSAlgorithm.ES256, Duration.ofMinutes(5), Clock.systemUTC());
        ECKey key = (ECKey) ring.active(JWSAlgorithm.ES256).jwk();

        String token = issuer.issue(Map.of("x-ms-attestation-type", "sevsnpvm", "x-ms-runtime",
                Map.of("keys", List.of(Map.of("kty", "RSA", "e", "AQAB"))), "nonce", "n<&>\"\u00e9"));
        SignedJWT jwt = SignedJWT.parse(token);
        assertTrue(jwt.verify(new ECDSAVerifier(key.toPublicJWK())));
        assertEquals(JWSAlgorithm.ES256, jwt.getHeader().getAlgorithm());
        assertEquals(ring.active(JWSAlgorithm.ES256).kid(), jwt.getHeader().getKeyID());
        assertEquals(JOSEObjectType.JWT, jwt.getHeader().getType());
        assertEquals("https://coffer.test/certs", jwt.getHeader().getJWKURL().toString());
        var claims = jwt.getJWTClaimsSet();
        assertEquals("https://coffer.test", claims.getIssuer());
        assertEquals("n<&>\"\u00e9", claims.getStringClaim("nonce"));
        assertEquals(300, (claims.getExpirationTime().getTime() - claims.getIssueTime().getTime()) / 1000);
        assertNotNull(claims.getJWTID());

        // the JDK's own ECDSA over the same signing input, R||S form
        String[] parts = token.split("\\.");
        Signature jdk = Signature.getInstance("SHA256withECDSAinP1363Format");
        jdk.initVerify(key.toECPublicKey());
        jdk.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        assertTrue(jdk.verify(Base64.getUrlDecoder().decode(parts[2])));

        // RFC 6979 nonces: distinct tokens (jti, iat differ) still verify; a changed payload does not
        String other = issuer.issue(Map.of("x-ms-attestation-type", "sevsnpvm"));
        assertNotEquals(token, other);
        String forged = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
                "{\"iss\":\"https://evil.test\"}".getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertFalse(JWSObject.parse(forged).verify(new ECDSAVerifier(key.toPublicJWK())));
    }

    @Test
    void releaseResponsesAndRs256StillVerify(@TempDir Path dir) throws Exception {
        SigningKeyRing ring = SigningKeyRing.open(dir.resolve("keys.json"), Duration.ofMinutes(5), Clock.systemUTC());
        TokenIssuer es = new TokenIssuer(ring, "https://coffer.test", JWSAlgorithm.ES256, Duration.ofMinutes(5), Clock.systemUTC());
        JWSObject jose = JWSObject.parse(es.sign(Map.of("response", Map.of("key", Map.of("kty", "oct"))), JOSEObjectType.JOSE));
        assertEquals(JOSEObjectType.JOSE, jose.getHeader().getType());
        assertTrue(jose.verify(new ECDSAVerifier(((ECKey) ring.active(JWSAlgorithm.ES256).jwk()).toPublicJWK())));
        assertEquals("oct", ((Map<?, ?>) ((Map<?, ?>) jose.getPayload().toJSONObject().get("response")).get("key")).get("kty"));

        TokenIssuer rs = new TokenIssuer(ring, "https://coffer.test", JWSAlgorithm.RS256, Duration.ofMinutes(5), Clock.systemUTC());
        SignedJWT jwt = SignedJWT.parse(rs.issue(Map.of("a", 1)));
        assertTrue(jwt.verify(new RSASSAVerifier(((RSAKey) ring.active(JWSAlgorithm.RS256).jwk()).toRSAPublicKey())));
    }
}
