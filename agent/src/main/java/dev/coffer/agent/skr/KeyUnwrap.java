package dev.coffer.agent.skr;

import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.Arrays;

/**
 * Opens a key released by the vault: the first modulus-length bytes are RSA-OAEP of an
 * ephemeral AES-256 key, the rest is that key's AES Key Wrap with Padding (RFC 5649) of the
 * key material. {@code CKM_RSA_AES_KEY_WRAP} uses OAEP SHA-1/MGF1 SHA-1,
 * {@code RSA_AES_KEY_WRAP_256} OAEP SHA-256/MGF1 SHA-256.
 */
final class KeyUnwrap {
    private KeyUnwrap() {}

    static byte[] unwrap(RSAPrivateKey runtimeKey, byte[] wrapped, String enc) throws GeneralSecurityException {
        OAEPParameterSpec oaep = switch (enc) {
            case "CKM_RSA_AES_KEY_WRAP" -> new OAEPParameterSpec("SHA-1", "MGF1", MGF1ParameterSpec.SHA1, PSource.PSpecified.DEFAULT);
            case "RSA_AES_KEY_WRAP_256" -> new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
            default -> throw new GeneralSecurityException("unsupported wrapping '" + enc + "'; expected CKM_RSA_AES_KEY_WRAP or RSA_AES_KEY_WRAP_256");
        };
        int rsaLen = (runtimeKey.getModulus().bitLength() + 7) / 8;
        if (wrapped.length < rsaLen + 16) {
            throw new GeneralSecurityException("wrapped key is " + wrapped.length + " bytes; expected at least " + (rsaLen + 16));
        }
        Cipher rsa = Cipher.getInstance("RSA/ECB/OAEPPadding");
        rsa.init(Cipher.DECRYPT_MODE, runtimeKey, oaep);
        byte[] aesKey = rsa.doFinal(wrapped, 0, rsaLen);
        try {
            return aesUnwrapPadded(aesKey, Arrays.copyOfRange(wrapped, rsaLen, wrapped.length));
        } finally {
            Arrays.fill(aesKey, (byte) 0);
        }
    }

    /** RFC 5649 through the JDK's AES/KWP cipher, the one the vault wraps with. */
    static byte[] aesUnwrapPadded(byte[] kek, byte[] c) throws GeneralSecurityException {
        if (c.length < 16 || c.length % 8 != 0) {
            throw new GeneralSecurityException("AES-wrapped key must be a multiple of 8 bytes and at least 16, found " + c.length);
        }
        Cipher aes = Cipher.getInstance("AES/KWP/NoPadding");
        aes.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"));
        try {
            return aes.doFinal(c);
        } catch (GeneralSecurityException e) {
            throw new GeneralSecurityException("AES key unwrap integrity check failed: wrong runtime key or tampered ciphertext", e);
        }
    }
}
