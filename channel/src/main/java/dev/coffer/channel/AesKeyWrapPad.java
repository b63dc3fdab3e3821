package dev.coffer.channel;

import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;

/**
 * AES Key Wrap with Padding, RFC 5649, through the JDK's {@code AES/KWP/NoPadding} cipher (in
 * the JDK since 17): the vault wraps released keys with it, and the agent unwraps them with the
 * same code. The RFC's own test vectors check it in AesKeyWrapPadTest.
 */
public final class AesKeyWrapPad {
    private static final String TRANSFORMATION = "AES/KWP/NoPadding";

    private AesKeyWrapPad() {}

    /** Wraps {@code plaintext} (1 byte or more) under the AES key {@code kek} (16, 24 or 32 bytes). */
    public static byte[] wrap(byte[] kek, byte[] plaintext) {
        if (plaintext.length == 0) {
            throw new IllegalArgumentException("expected key material of at least one byte to wrap, found none");
        }
        try {
            return cipher(kek, Cipher.ENCRYPT_MODE).doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES key wrap failed: " + e.getMessage(), e);
        }
    }

    /** @throws GeneralSecurityException when the integrity check fails (wrong key or tampered bytes) */
    public static byte[] unwrap(byte[] kek, byte[] wrapped) throws GeneralSecurityException {
        if (wrapped.length < 16 || wrapped.length % 8 != 0) {
            throw new GeneralSecurityException("AES-wrapped key must be a multiple of 8 bytes and at least 16, found " + wrapped.length);
        }
        try {
            return cipher(kek, Cipher.DECRYPT_MODE).doFinal(wrapped);
        } catch (GeneralSecurityException e) {
            throw new GeneralSecurityException("AES key unwrap integrity check failed: wrong key or tampered ciphertext", e);
        }
    }

    private static Cipher cipher(byte[] kek, int mode) throws GeneralSecurityException {
        if (kek.length != 16 && kek.length != 24 && kek.length != 32) {
            throw new java.security.InvalidKeyException("AES key-encryption key must be 16, 24 or 32 bytes, found " + kek.length);
        }
        Cipher c = Cipher.getInstance(TRANSFORMATION);
        c.init(mode, new SecretKeySpec(kek, "AES"));
        return c;
    }
}
