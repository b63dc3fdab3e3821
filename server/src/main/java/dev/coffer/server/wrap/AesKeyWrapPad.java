package dev.coffer.server.wrap;

import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * AES Key Wrap with Padding, RFC 5649: the alternative initial value {@code A65959A6 || MLI}
 * with the message length in bytes, zero padding to a multiple of 8, a single AES block for
 * inputs of up to 8 bytes and the RFC 3394 six-round wrapping process otherwise.
 */
public final class AesKeyWrapPad {
    private static final int AIV_PREFIX = 0xA65959A6;

    private AesKeyWrapPad() {}

    public static byte[] wrap(byte[] kek, byte[] plaintext) {
        if (plaintext.length == 0) throw new IllegalArgumentException("cannot wrap an empty key");
        int padded = (plaintext.length + 7) / 8 * 8;
        byte[] a = ByteBuffer.allocate(8).putInt(AIV_PREFIX).putInt(plaintext.length).array();
        byte[] p = Arrays.copyOf(plaintext, padded);
        Cipher aes = aes(kek, Cipher.ENCRYPT_MODE);
        try {
            if (padded == 8) {
                byte[] block = new byte[16];
                System.arraycopy(a, 0, block, 0, 8);
                System.arraycopy(p, 0, block, 8, 8);
                return aes.doFinal(block);
            }
            int n = padded / 8;
            byte[] r = p;
            byte[] block = new byte[16];
            for (int j = 0; j <= 5; j++) {
                for (int i = 1; i <= n; i++) {
                    System.arraycopy(a, 0, block, 0, 8);
                    System.arraycopy(r, (i - 1) * 8, block, 8, 8);
                    byte[] b = aes.doFinal(block);
                    long t = (long) n * j + i;
                    System.arraycopy(b, 0, a, 0, 8);
                    for (int k = 0; k < 8; k++) a[7 - k] ^= (byte) (t >>> (8 * k));
                    System.arraycopy(b, 8, r, (i - 1) * 8, 8);
                }
            }
            byte[] out = new byte[8 + padded];
            System.arraycopy(a, 0, out, 0, 8);
            System.arraycopy(r, 0, out, 8, padded);
            return out;
        } catch (IllegalBlockSizeException | BadPaddingException e) {
            throw new IllegalStateException("AES block encryption failed", e);
        }
    }

    /** Inverse of {@link #wrap}; any integrity failure is a {@link GeneralSecurityException}. */
    public static byte[] unwrap(byte[] kek, byte[] wrapped) throws GeneralSecurityException {
        if (wrapped.length < 16 || wrapped.length % 8 != 0) {
            throw new GeneralSecurityException("wrapped key must be a multiple of 8 bytes and at least 16, found " + wrapped.length);
        }
        Cipher aes = aes(kek, Cipher.DECRYPT_MODE);
        int n = wrapped.length / 8 - 1;
        byte[] a = new byte[8];
        byte[] r;
        if (n == 1) {
            byte[] b = aes.doFinal(wrapped);
            System.arraycopy(b, 0, a, 0, 8);
            r = Arrays.copyOfRange(b, 8, 16);
        } else {
            System.arraycopy(wrapped, 0, a, 0, 8);
            r = Arrays.copyOfRange(wrapped, 8, wrapped.length);
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
        if (ok) {
            byte[] padding = Arrays.copyOfRange(r, mli, r.length);
            ok = MessageDigest.isEqual(padding, new byte[padding.length]);
        }
        if (!ok) throw new GeneralSecurityException("AES key unwrap integrity check failed: wrong key or tampered data");
        return Arrays.copyOf(r, mli);
    }

    private static Cipher aes(byte[] kek, int mode) {
        if (kek.length != 16 && kek.length != 24 && kek.length != 32) {
            throw new IllegalArgumentException("AES key-encryption key must be 16, 24 or 32 bytes, found " + kek.length);
        }
        try {
            Cipher c = Cipher.getInstance("AES/ECB/NoPadding");
            c.init(mode, new SecretKeySpec(kek, "AES"));
            return c;
        } catch (NoSuchAlgorithmException | NoSuchPaddingException | InvalidKeyException e) {
            throw new IllegalStateException("AES is not available", e);
        }
    }
}
