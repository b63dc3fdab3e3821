package dev.coffer.oci.digest;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DigestTest {
    static final String EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    @Test
    void parsesAndPrints() {
        Digest d = Digest.parse("sha256:" + EMPTY);
        assertEquals("sha256", d.algorithm());
        assertEquals("sha256:" + EMPTY, d.toString());
        assertEquals(d, Digest.sha256(new byte[0]));
        assertEquals(EMPTY.substring(0, 12), d.shortHex());
    }

    @Test
    void refusesMalformedWithPreciseMessages() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Digest.parse(EMPTY)).getMessage().contains("no algorithm"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha512:" + EMPTY)).getMessage().contains("sha512"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + EMPTY.toUpperCase())).getMessage().contains("lowercase"));
        assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + EMPTY.substring(1)));
        assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + EMPTY + "0"));
        assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + EMPTY.replace('e', 'g')));
        assertThrows(IllegalArgumentException.class, () -> Digest.parse(null));
    }
}
