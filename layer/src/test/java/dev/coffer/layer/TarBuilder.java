package dev.coffer.layer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes tars byte by byte for tests: USTAR headers, optional PAX records, nothing clever. */
final class TarBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    TarBuilder dir(String name, int mode, long mtime) {
        return entry(name, '5', mode, mtime, 0, 0, "", new byte[0], Map.of());
    }

    TarBuilder file(String name, int mode, long mtime, byte[] content) {
        return entry(name, '0', mode, mtime, 0, 0, "", content, Map.of());
    }

    TarBuilder file(String name, int mode, long mtime, String content) {
        return file(name, mode, mtime, content.getBytes(StandardCharsets.UTF_8));
    }

    TarBuilder symlink(String name, String target, long mtime) {
        return entry(name, '2', 0777, mtime, 0, 0, target, new byte[0], Map.of());
    }

    TarBuilder hardlink(String name, String target, long mtime) {
        return entry(name, '1', 0644, mtime, 0, 0, target, new byte[0], Map.of());
    }

    TarBuilder device(String name, char type, int major, int minor) {
        byte[] h = header(name, type, 0660, 0, 0, 0, "", 0);
        octal(h, 329, 8, major);
        octal(h, 337, 8, minor);
        checksum(h);
        out.writeBytes(h);
        return this;
    }

    TarBuilder pax(Map<String, String> records) {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, String> r : records.entrySet()) {
            byte[] kv = (r.getKey() + "=" + r.getValue() + "\n").getBytes(StandardCharsets.ISO_8859_1);
            int len = kv.length + 2;
            while (len != kv.length + 1 + Integer.toString(len).length()) len = kv.length + 1 + Integer.toString(len).length();
            data.writeBytes((len + " ").getBytes(StandardCharsets.US_ASCII));
            data.writeBytes(kv);
        }
        byte[] d = data.toByteArray();
        byte[] h = header("PaxHeaders/x", 'x', 0644, 0, 0, 0, "", d.length);
        checksum(h);
        out.writeBytes(h);
        out.writeBytes(d);
        pad(d.length);
        return this;
    }

    TarBuilder entry(String name, char type, int mode, long mtime, int uid, int gid, String link, byte[] content,
                     Map<String, String> paxRecords) {
        if (!paxRecords.isEmpty()) pax(new LinkedHashMap<>(paxRecords));
        byte[] h = header(name, type, mode, mtime, uid, gid, link, content.length);
        checksum(h);
        out.writeBytes(h);
        out.writeBytes(content);
        pad(content.length);
        return this;
    }

    TarBuilder raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    byte[] build() {
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        copy.writeBytes(out.toByteArray());
        copy.writeBytes(new byte[1024]);
        return copy.toByteArray();
    }

    /** Without the end-of-archive blocks. */
    byte[] buildWithoutTrailer() {
        return out.toByteArray();
    }

    private void pad(long n) {
        int p = (int) (-n & 511);
        out.writeBytes(new byte[p]);
    }

    static byte[] header(String name, char type, int mode, long mtime, int uid, int gid, String link, long size) {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length > 100) {
            // USTAR prefix split at a slash
            int cut = name.lastIndexOf('/', 155);
            byte[] prefix = name.substring(0, cut).getBytes(StandardCharsets.UTF_8);
            System.arraycopy(prefix, 0, h, 345, prefix.length);
            n = name.substring(cut + 1).getBytes(StandardCharsets.UTF_8);
        }
        System.arraycopy(n, 0, h, 0, n.length);
        octal(h, 100, 8, mode);
        octal(h, 108, 8, uid);
        octal(h, 116, 8, gid);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtime);
        h[156] = (byte) type;
        byte[] l = link.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(l, 0, h, 157, l.length);
        System.arraycopy("ustar\00000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        octal(h, 329, 8, 0);
        octal(h, 337, 8, 0);
        return h;
    }

    static void octal(byte[] h, int off, int len, long v) {
        String s = Long.toOctalString(v);
        s = "0".repeat(len - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, off, len - 1);
        h[off + len - 1] = 0;
    }

    static void checksum(byte[] h) {
        for (int i = 148; i < 156; i++) h[i] = ' ';
        long sum = 0;
        for (byte b : h) sum += b & 0xff;
        String s = Long.toOctalString(sum);
        s = "0".repeat(6 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, 148, 6);
        h[154] = 0;
        h[155] = ' ';
    }
}
