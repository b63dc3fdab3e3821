package dev.coffer.channel;

import org.junit.jupiter.api.Test;

import javax.crypto.Cipher;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.*;

class KeyWrapTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] RFC5649_KEK = HEX.parseHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");

    @Test
    void rfc5649Vector20Octets() throws Exception {
        byte[] key = HEX.parseHex("c37b7e6492584340bed12207808941155068f738");
        byte[] expected = HEX.parseHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
        assertArrayEquals(expected, AesKeyWrapPad.wrap(RFC5649_KEK, key));
        assertArrayEquals(key, AesKeyWrapPad.unwrap(RFC5649_KEK, expected));
    }

    @Test
    void rfc5649Vector7Octets() throws Exception {
        byte[] key = HEX.parseHex("466f7250617369");
        byte[] expected = HEX.parseHex("afbeb0f07dfbf5419200f2ccb50bb24f");
        assertArrayEquals(expected, AesKeyWrapPad.wrap(RFC5649_KEK, key));
        assertArrayEquals(key, AesKeyWrapPad.unwrap(RFC5649_KEK, expected));
    }

    @Test
    void everyLengthRoundTrips() throws Exception {
        byte[] kek = new byte[32];
        new java.util.Random(1).nextBytes(kek);
        for (int len = 1; len <= 70; len++) {
            byte[] key = new byte[len];
            new java.util.Random(len).nextBytes(key);
            byte[] wrapped = AesKeyWrapPad.wrap(kek, key);
            assertEquals((len + 7) / 8 * 8 + 8, wrapped.length, "length " + len);
            assertArrayEquals(key, AesKeyWrapPad.unwrap(kek, wrapped));
        }
    }

    @Test
    void tamperedOrWrongKeyIsRejected() {
        byte[] wrapped = HEX.parseHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
        for (int i = 0; i < wrapped.length; i++) {
            byte[] t = wrapped.clone();
            t[i] ^= 1;
            assertThrows(GeneralSecurityException.class, () -> AesKeyWrapPad.unwrap(RFC5649_KEK, t), "byte " + i);
        }
        byte[] other = RFC5649_KEK.clone();
        other[0] ^= 1;
        assertThrows(GeneralSecurityException.class, () -> AesKeyWrapPad.unwrap(other, wrapped));
        assertThrows(GeneralSecurityException.class, () -> AesKeyWrapPad.unwrap(RFC5649_KEK, new byte[12]));
    }

    @Test
    void rsaAesWrapRoundTripsWithBothOaepDigests() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        byte[] secret = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        for (KeyWrapAlgorithm alg : KeyWrapAlgorithm.values()) {
            byte[] wrapped = RsaAesKeyWrap.wrap((RSAPublicKey) kp.getPublic(), secret, alg);
            assertEquals(256 + 40, wrapped.length);
            assertArrayEquals(secret, RsaAesKeyWrap.unwrap((RSAPrivateKey) kp.getPrivate(), wrapped, alg));
            KeyWrapAlgorithm other = alg == KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP
                    ? KeyWrapAlgorithm.RSA_AES_KEY_WRAP_256 : KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP;
            assertThrows(GeneralSecurityException.class, () -> RsaAesKeyWrap.unwrap((RSAPrivateKey) kp.getPrivate(), wrapped, other));
        }
    }
}
