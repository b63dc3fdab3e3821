package dev.coffer.agent.volume;

import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.*;

class XtsTest {
    static final HexFormat HEX = HexFormat.of();

    @Test
    void ieee1619Vector1() {
        byte[] buf = new byte[32];
        new Xts(new byte[32], true).unit(buf, 0, 32, 0);
        assertEquals("917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e", HEX.formatHex(buf));
    }

    /** Expected values computed with pyca/cryptography (OpenSSL's XTS), an independent implementation. */
    @Test
    void aes256XtsOver4KiBUnitsMatchesOpenSsl() throws Exception {
        byte[] key = new byte[64];
        for (int i = 0; i < 64; i++) key[i] = (byte) i;
        byte[] plain = new byte[4096];
        for (int i = 0; i < plain.length; i++) plain[i] = (byte) (i * 7 + 3);
        byte[] a = plain.clone();
        new Xts(key, true).unit(a, 0, 4096, 40);
        assertEquals("55848dfa29ef5ef664b3474f152bddac", HEX.formatHex(a, 0, 16));
        assertEquals("846d1449964e04019f3606b238396f13833f945f6fc9f2f117706b3cc796c81d",
                HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(a)));
        byte[] b = plain.clone();
        new Xts(key, true).unit(b, 0, 4096, 0x0123456789L);
        assertEquals("1b9958015f862f3b8e0415dd3ef35a25453053adebcddf544dd00369e953ff51",
                HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(b)));
        new Xts(key, false).unit(b, 0, 4096, 0x0123456789L);
        assertArrayEquals(plain, b, "decrypt inverts encrypt");
    }

    @Test
    void refusesBadShapes() {
        assertThrows(IllegalArgumentException.class, () -> new Xts(new byte[48], true));
        assertThrows(IllegalArgumentException.class, () -> new Xts(new byte[64], true).unit(new byte[20], 0, 20, 0));
    }
}
