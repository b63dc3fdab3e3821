package dev.coffer.server.vault;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;

/**
 * Key material in its stored form: raw bytes for {@code oct}, PKCS#8 DER for RSA and EC
 * private keys (what the releasing side receives after unwrapping, as with Azure).
 * The public part is kept separately as a JWK so reads never need the KEK.
 */
record KeyMaterial(KeySpec spec, byte[] secret, String publicJwkJson) {
    private static final SecureRandom RANDOM = new SecureRandom();

    static KeyMaterial generate(KeySpec spec) {
        try {
            switch (spec.kty()) {
                case "oct" -> {
                    byte[] k = new byte[32];
                    RANDOM.nextBytes(k);
                    return new KeyMaterial(spec, k, null);
                }
                case "RSA" -> {
                    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                    g.initialize(spec.size(), RANDOM);
                    KeyPair kp = g.generateKeyPair();
                    return new KeyMaterial(spec, kp.getPrivate().getEncoded(),
                            new RSAKey.Builder((RSAPublicKey) kp.getPublic()).build().toJSONString());
                }
                default -> {
                    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                    g.initialize(new ECGenParameterSpec(spec.curve().equals("P-256") ? "secp256r1" : "secp384r1"), RANDOM);
                    KeyPair kp = g.generateKeyPair();
                    return new KeyMaterial(spec, kp.getPrivate().getEncoded(),
                            new ECKey.Builder(Curve.parse(spec.curve()), (ECPublicKey) kp.getPublic()).build().toJSONString());
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate a " + spec + " key: " + e.getMessage(), e);
        }
    }

    /** An imported private JWK (oct with 'k', RSA with the CRT parameters, EC with 'd'). */
    static KeyMaterial fromJwk(JWK jwk) {
        try {
            switch (jwk) {
                case OctetSequenceKey oct -> {
                    byte[] k = oct.toByteArray();
                    if (k.length != 32) {
                        throw new ApiException(ErrorCode.KEY_INVALID, "imported oct key is " + k.length * 8 + " bits; expected 256");
                    }
                    return new KeyMaterial(KeySpec.oct256(), k, null);
                }
                case RSAKey rsa -> {
                    if (!rsa.isPrivate()) throw new ApiException(ErrorCode.KEY_INVALID, "imported RSA JWK has no private part ('d')");
                    PrivateKey priv = rsa.toPrivateKey();
                    if (!(priv instanceof RSAPrivateCrtKey crt)) {
                        throw new ApiException(ErrorCode.KEY_INVALID, "imported RSA JWK lacks the CRT parameters (p, q, dp, dq, qi)");
                    }
                    int bits = crt.getModulus().bitLength();
                    KeySpec spec = KeySpec.parse("RSA-" + bits);
                    // Recompute the public key from the private one: a JWK with mismatched n/e is refused.
                    RSAPublicKey pub = (RSAPublicKey) KeyFactory.getInstance("RSA")
                            .generatePublic(new RSAPublicKeySpec(crt.getModulus(), crt.getPublicExponent()));
                    if (!pub.getModulus().equals(rsa.getModulus().decodeToBigInteger())) {
                        throw new ApiException(ErrorCode.KEY_INVALID, "imported RSA JWK's 'n' does not match its private key");
                    }
                    byte[] der = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(priv.getEncoded())).getEncoded();
                    return new KeyMaterial(spec, der, new RSAKey.Builder(pub).build().toJSONString());
                }
                case ECKey ec -> {
                    if (!ec.isPrivate()) throw new ApiException(ErrorCode.KEY_INVALID, "imported EC JWK has no private part ('d')");
                    KeySpec spec = KeySpec.ec(ec.getCurve().getName());
                    ECPrivateKey priv = ec.toECPrivateKey();
                    ECPublicKey pub = ec.toECPublicKey();
                    return new KeyMaterial(spec, priv.getEncoded(),
                            new ECKey.Builder(ec.getCurve(), pub).build().toJSONString());
                }
                default -> throw new ApiException(ErrorCode.KEY_INVALID, "imported JWK kty '" + jwk.getKeyType()
                        + "' is not supported; expected oct, RSA or EC");
            }
        } catch (JOSEException | GeneralSecurityException e) {
            throw new ApiException(ErrorCode.KEY_INVALID, "imported JWK is not a usable key: " + e.getMessage());
        }
    }

    /** The JWK 'kty' Azure reports for a released key of this type. */
    static String hsmKty(KeySpec spec) {
        return spec.kty() + "-HSM";
    }
}
