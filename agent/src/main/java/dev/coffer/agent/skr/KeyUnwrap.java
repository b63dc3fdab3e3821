package dev.coffer.agent.skr;

import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
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
    private static final int AIV_PREFIX = 0xA65959A6;

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

    /** RFC 5649 §4.2: one AES block for a single 64-bit semiblock, else the RFC 3394 unwrapping with the alternative IV. */
    static byte[] aesUnwrapPadded(byte[] kek, byte[] c) throws GeneralSecurityException {
        if (kek.length != 16 && kek.length != 24 && kek.length != 32) {
            throw new GeneralSecurityException("AES key-encryption key must be 16, 24 or 32 bytes, found " + kek.length);
        }
        if (c.length < 16 || c.length % 8 != 0) {
            throw new GeneralSecurityException("AES-wrapped key must be a multiple of 8 bytes and at least 16, found " + c.length);
        }
        Cipher aes = Cipher.getInstance("AES/ECB/NoPadding");
        aes.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"));
        int n = c.length / 8 - 1;
        byte[] a = new byte[8];
        byte[] r;
        if (n == 1) {
            byte[] b = aes.doFinal(c);
            System.arraycopy(b, 0, a, 0, 8);
            r = Arrays.copyOfRange(b, 8, 16);
        } else {
            System.arraycopy(c, 0, a, 0, 8);
            r = Arrays.copyOfRange(c, 8, c.length);
            byte[] block = new byte[16];
            for (int j = 5; j >= 0; j--) {
                for (int i = n; i >= 1; i--) {
                    long t = (long) n * j + i;
                    for (int k = 0; k < 8; k++) a[7 - k] ^= (byte) (t >>> (8 * k));
                    System.arraycopy(a, 0, block, 0, 8);
                    System.arraycopy(r, (i - 1) * 8, block, 8, 8);
                    byte[] b = aes.doFinal(block);
                    System.arraycopy(b, 0, a, 0, 8);
                    System.arraycopy(b, 8, r, (i - 1) * 8, 8);
                }
            }
        }
        ByteBuffer aiv = ByteBuffer.wrap(a);
        int prefix = aiv.getInt();
        int mli = aiv.getInt();
        boolean ok = prefix == AIV_PREFIX && mli > 8 * (n - 1) && mli <= 8 * n;
        if (ok) ok = MessageDigest.isEqual(Arrays.copyOfRange(r, mli, r.length), new byte[r.length - mli]);
        if (!ok) {
            Arrays.fill(r, (byte) 0);
            throw new GeneralSecurityException("AES key unwrap integrity check failed: wrong runtime key or tampered ciphertext");
        }
        byte[] out = Arrays.copyOf(r, mli);
        Arrays.fill(r, (byte) 0);
        return out;
    }
}
