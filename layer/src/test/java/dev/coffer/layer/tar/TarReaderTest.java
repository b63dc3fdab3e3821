package dev.coffer.layer.tar;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Header details read the way Go's archive/tar reads them (Azure's tooling is written in Go). */
class TarReaderTest {
    static byte[] header(byte[] name, char type, long size, String magic) {
        byte[] h = new byte[512];
        System.arraycopy(name, 0, h, 0, Math.min(100, name.length));
        octal(h, 100, 8, 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, 1700000000L);
        h[156] = (byte) type;
        byte[] m = magic.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(m, 0, h, 257, m.length);
        return h;
    }

    static void octal(byte[] h, int off, int len, long v) {
        String s = Long.toOctalString(v);
        s = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, off, len - 1);
    }

    static byte[] sum(byte[] h) {
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) sum += b & 0xff;
        octal(h, 148, 7, sum);
        return h;
    }

    static byte[] data(byte[] d) {
        return Arrays.copyOf(d, (d.length + 511) / 512 * 512);
    }

    static TarReader reader(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        out.writeBytes(new byte[1024]);
        return new TarReader(new ByteArrayInputStream(out.toByteArray()));
    }

    static final String USTAR = "ustar\00000";
    static final String GNU = "ustar  \0";

    @Test
    void rawNameBytesArePreserved() throws Exception {
        byte[] name = {'c', 'a', 'f', (byte) 0xe9}; // Latin-1 "café", not valid UTF-8
        TarEntry e = reader(sum(header(name, '0', 0, USTAR))).next();
        assertArrayEquals(name, e.name().getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void gnuLongNamesAndBase256Sizes() throws Exception {
        String longName = "dir/" + "x".repeat(300);
        byte[] ln = (longName + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] h = header("file".getBytes(StandardCharsets.US_ASCII), '0', 0, GNU);
        Arrays.fill(h, 124, 136, (byte) 0);
        h[124] = (byte) 0x80;
        h[135] = 3; // base-256 size 3
        TarReader r = reader(sum(header("././@LongLink".getBytes(StandardCharsets.US_ASCII), 'L', ln.length, GNU)),
                data(ln), sum(h), data("abc".getBytes(StandardCharsets.US_ASCII)));
        TarEntry e = r.next();
        assertEquals(longName, e.name());
        assertEquals(3, e.size());
        byte[] buf = new byte[10];
        assertEquals(3, r.read(buf, 0, 10));
        assertNull(r.next());
    }

    @Test
    void ustarPrefixIsJoinedWithASlash() throws Exception {
        byte[] h = header("name".getBytes(StandardCharsets.US_ASCII), '0', 0, USTAR);
        System.arraycopy("some/prefix".getBytes(StandardCharsets.US_ASCII), 0, h, 345, 11);
        assertEquals("some/prefix/name", reader(sum(h)).next().name());
    }

    @Test
    void globalPaxHeaderSurfacesAsAnEntryLikeGo() throws Exception {
        byte[] rec = "14 comment=xy\n".getBytes(StandardCharsets.US_ASCII);
        TarReader r = reader(sum(header("pax_global_header".getBytes(StandardCharsets.US_ASCII), 'g', rec.length, USTAR)),
                data(rec), sum(header("f".getBytes(StandardCharsets.US_ASCII), '0', 0, USTAR)));
        TarEntry g = r.next();
        assertEquals('g', g.typeflag());
        assertEquals("pax_global_header", g.name());
        assertEquals("xy", g.pax().get("comment"));
        TarEntry f = r.next();
        assertEquals("f", f.name());
        assertFalse(f.pax().containsKey("comment"), "global records do not apply to later entries in Go");
    }

    @Test
    void paxTimesKeepNanosecondsAndNormaliseNegatives() {
        assertArrayEquals(new long[] {1700000000L, 123456789}, TarReader.paxTime("1700000000.1234567891"));
        assertArrayEquals(new long[] {-2, 500000000}, TarReader.paxTime("-1.5"));
        assertArrayEquals(new long[] {5, 0}, TarReader.paxTime("5"));
    }

    @Test
    void legacyTypeWithTrailingSlashIsADirectory() throws Exception {
        assertEquals(TarEntry.TYPE_DIR, reader(sum(header("d/".getBytes(StandardCharsets.US_ASCII), '\0', 0, ""))).next().typeflag());
        assertEquals(TarEntry.TYPE_REG, reader(sum(header("f".getBytes(StandardCharsets.US_ASCII), '\0', 0, ""))).next().typeflag());
    }

    @Test
    void signedChecksumsAreAccepted() throws Exception {
        byte[] name = {'n', (byte) 0xff};
        byte[] h = header(name, '0', 0, USTAR);
        Arrays.fill(h, 148, 156, (byte) ' ');
        long signed = 0;
        for (byte b : h) signed += b;
        octal(h, 148, 7, signed);
        assertTrue(reader(h).next() != null);
    }
}
