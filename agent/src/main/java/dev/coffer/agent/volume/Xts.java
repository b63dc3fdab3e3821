package dev.coffer.agent.volume;

import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;
import java.util.Arrays;

/**
 * AES-XTS (IEEE 1619) over whole data units, as dm-crypt's {@code aes-xts-plain64} uses it:
 * the key is data key || tweak key, the tweak of a data unit is its plain64 IV (the 512-byte
 * sector number, little-endian, zero-padded to 16 bytes), blocks within a unit multiply the
 * tweak by x in GF(2^128). Data units are multiples of 16 bytes, so no ciphertext stealing.
 */
final class Xts {
    private final Cipher data;
    private final Cipher tweak;
    private final boolean encrypt;

    Xts(byte[] key, boolean encrypt) {
        if (key.length != 32 && key.length != 64) {
            throw new IllegalArgumentException("an AES-XTS key is 32 or 64 bytes (two AES keys), found " + key.length);
        }
        this.encrypt = encrypt;
        int half = key.length / 2;
        try {
            data = Cipher.getInstance("AES/ECB/NoPadding");
            data.init(encrypt ? Cipher.ENCRYPT_MODE : Cipher.DECRYPT_MODE, new SecretKeySpec(key, 0, half, "AES"));
            tweak = Cipher.getInstance("AES/ECB/NoPadding");
            tweak.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, half, half, "AES"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES is not available in this Java runtime", e);
        }
    }

    /** Transforms {@code len} bytes at {@code off} in place as one data unit with tweak {@code iv}. */
    void unit(byte[] buf, int off, int len, long iv) {
        if (len % 16 != 0 || len == 0) throw new IllegalArgumentException("XTS data unit must be a positive multiple of 16 bytes, found " + len);
        try {
            byte[] t = new byte[16];
            for (int i = 0; i < 8; i++) t[i] = (byte) (iv >>> (8 * i));
            t = tweak.doFinal(t);
            byte[] tweaks = new byte[len];
            for (int b = 0; b < len; b += 16) {
                System.arraycopy(t, 0, tweaks, b, 16);
                timesX(t);
            }
            for (int i = 0; i < len; i++) buf[off + i] ^= tweaks[i];
            int n = (encrypt ? data : data).doFinal(buf, off, len, buf, off);
            if (n != len) throw new IllegalStateException("AES produced " + n + " bytes for " + len);
            for (int i = 0; i < len; i++) buf[off + i] ^= tweaks[i];
            Arrays.fill(tweaks, (byte) 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES block operation failed", e);
        }
    }

    /** Multiplication by x modulo x^128 + x^7 + x^2 + x + 1, little-endian byte order (IEEE 1619 §5.2). */
    private static void timesX(byte[] t) {
        int carry = (t[15] >> 7) & 1;
        for (int i = 15; i > 0; i--) t[i] = (byte) ((t[i] << 1) | ((t[i - 1] >> 7) & 1));
        t[0] = (byte) ((t[0] << 1) ^ (carry * 0x87));
    }
}
