package dev.coffer.channel;

import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;

/**
 * {@link KeyWrapAlgorithm} in both directions: the vault wraps to the runtime key carried in the
 * token, the releasing sandbox unwraps with its private half. The first modulus-length bytes
 * are the RSA-OAEP block, the rest the RFC 5649 wrap.
 */
public final class RsaAesKeyWrap {
    private static final SecureRandom RANDOM = new SecureRandom();

    private RsaAesKeyWrap() {}

    public static byte[] wrap(RSAPublicKey runtimeKey, byte[] keyMaterial, KeyWrapAlgorithm alg) throws GeneralSecurityException {
        byte[] ephemeral = new byte[32];
        RANDOM.nextBytes(ephemeral);
        try {
            Cipher rsa = Cipher.getInstance("RSA/ECB/OAEPPadding");
            rsa.init(Cipher.ENCRYPT_MODE, runtimeKey, oaep(alg));
            byte[] wrappedAes = rsa.doFinal(ephemeral);
            byte[] wrappedKey = AesKeyWrapPad.wrap(ephemeral, keyMaterial);
            byte[] out = Arrays.copyOf(wrappedAes, wrappedAes.length + wrappedKey.length);
            System.arraycopy(wrappedKey, 0, out, wrappedAes.length, wrappedKey.length);
            return out;
        } finally {
            Arrays.fill(ephemeral, (byte) 0);
        }
    }

    /** @throws GeneralSecurityException when the bytes are short, or not wrapped to this key, or tampered */
    public static byte[] unwrap(RSAPrivateKey runtimeKey, byte[] wrapped, KeyWrapAlgorithm alg) throws GeneralSecurityException {
        int rsaLen = (runtimeKey.getModulus().bitLength() + 7) / 8;
        if (wrapped.length < rsaLen + 16) {
            throw new GeneralSecurityException("wrapped key is " + wrapped.length + " bytes; expected at least " + (rsaLen + 16)
                    + " (an RSA-" + runtimeKey.getModulus().bitLength() + " OAEP block and an RFC 5649 wrap)");
        }
        Cipher rsa = Cipher.getInstance("RSA/ECB/OAEPPadding");
        rsa.init(Cipher.DECRYPT_MODE, runtimeKey, oaep(alg));
        byte[] ephemeral = rsa.doFinal(wrapped, 0, rsaLen);
        try {
            return AesKeyWrapPad.unwrap(ephemeral, Arrays.copyOfRange(wrapped, rsaLen, wrapped.length));
        } finally {
            Arrays.fill(ephemeral, (byte) 0);
        }
    }

    private static OAEPParameterSpec oaep(KeyWrapAlgorithm alg) {
        return new OAEPParameterSpec(alg.oaepDigest, "MGF1", alg.mgf1, PSource.PSpecified.DEFAULT);
    }
}
