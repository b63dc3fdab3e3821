package dev.coffer.layer.tar;

import dev.coffer.layer.InvalidLayerException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A streaming tar reader that reads headers exactly as Go's {@code archive/tar} does.
 *
 * <p>Why our own and not commons-compress: layer hashes must equal those of Azure's tooling,
 * which is written in Go, so every header quirk counts — raw (undecoded) bytes in names and PAX
 * values (binary {@code security.capability} xattrs), global PAX headers surfacing as entries,
 * tolerance of a missing end-of-archive trailer, GNU atime/ctime fields. commons-compress decodes
 * PAX values as UTF-8 and folds global headers away, which changes hashes.
 *
 * <p>Only the current entry's data is ever buffered; PAX and GNU long-name records are capped at
 * 1 MiB as in Go.
 */
public final class TarReader {
    private static final int BLOCK = 512;
    private static final int MAX_SPECIAL_FILE = 1 << 20;

    private final InputStream in;
    private final byte[] block = new byte[BLOCK];
    private long offset;
    private long remaining;
    private long padding;
    private String currentName = "";
    private boolean ended;

    public TarReader(InputStream in) {
        this.in = in;
    }

    /** Bytes of the tar stream consumed so far. */
    public long offset() {
        return offset;
    }

    /** The next entry, or null at the end of the archive. */
    public TarEntry next() throws IOException {
        if (ended) return null;
        Map<String, String> pax = Map.of();
        String longName = null;
        String longLink = null;
        while (true) {
            if (!skipRest()) {
                ended = true;
                return null;
            }
            long headerOffset = offset;
            Header h = readHeader();
            if (h == null) {
                ended = true;
                return null;
            }
            char type = h.typeflag;
            remaining = dataLength(type, h.size, headerOffset, h.name);
            padding = -remaining & (BLOCK - 1);
            currentName = h.name;
            switch (type) {
                case 'x', 'g' -> {
                    Map<String, String> records = parsePax(readSpecial(h.name), h.name, headerOffset);
                    if (type == 'g') {
                        // Go hands a global header to the caller as an entry of its own (and
                        // tar2ext4 then creates an empty file for it): reproduce that.
                        Header g = new Header();
                        g.name = h.name;
                        g.typeflag = 'g';
                        g.linkname = "";
                        mergePax(g, records, headerOffset);
                        return new TarEntry(g.name, 'g', 0, 0, 0, 0, "", 0, 0, 0, 0,
                                false, 0, 0, false, 0, 0, Collections.unmodifiableMap(records));
                    }
                    pax = records;
                }
                case 'L' -> longName = cString(readSpecial(h.name));
                case 'K' -> longLink = cString(readSpecial(h.name));
                default -> {
                    mergePax(h, pax, headerOffset);
                    if (longName != null && !longName.isEmpty()) h.name = longName;
                    if (longLink != null && !longLink.isEmpty()) h.linkname = longLink;
                    if (h.typeflag == '\0') {
                        // Legacy archives mark directories with a trailing slash only.
                        h.typeflag = h.name.endsWith("/") ? TarEntry.TYPE_DIR : TarEntry.TYPE_REG;
                    }
                    if (h.typeflag == 'S' || pax.containsKey("GNU.sparse.major")
                            || pax.containsKey("GNU.sparse.map") || pax.containsKey("GNU.sparse.size")) {
                        throw new TarFormatException("tar entry '" + h.name + "' at byte " + headerOffset
                                + " is a GNU sparse file, which layer disks do not support; "
                                + "rebuild the layer without --sparse");
                    }
                    remaining = dataLength(h.typeflag, h.size, headerOffset, h.name);
                    padding = -remaining & (BLOCK - 1);
                    currentName = h.name;
                    return new TarEntry(h.name, h.typeflag, h.mode, h.uid, h.gid, h.size, h.linkname,
                            h.devMajor, h.devMinor, h.mtimeSec, h.mtimeNanos,
                            h.hasAtime, h.atimeSec, h.atimeNanos, h.hasCtime, h.ctimeSec, h.ctimeNanos,
                            Collections.unmodifiableMap(pax));
                }
            }
        }
    }

    /** Reads the current entry's data; -1 at its end. Truncation is an error, never a short file. */
    public int read(byte[] b, int off, int len) throws IOException {
        if (remaining == 0) return -1;
        int want = (int) Math.min(len, remaining);
        int n = in.read(b, off, want);
        if (n < 0) {
            throw new TarFormatException("tar is truncated: entry '" + currentName + "' ends at byte "
                    + offset + " with " + remaining + " bytes of data missing; the layer file is incomplete");
        }
        offset += n;
        remaining -= n;
        return n;
    }

    /** Data still to be read from the current entry. */
    public long remaining() {
        return remaining;
    }

    private long dataLength(char type, long size, long headerOffset, String name) throws InvalidLayerException {
        if (size < 0) {
            throw new TarFormatException("tar header of '" + name + "' at byte " + headerOffset
                    + " has a negative size " + size + "; the archive is corrupt");
        }
        return switch (type) {
            case TarEntry.TYPE_LINK, TarEntry.TYPE_SYMLINK, TarEntry.TYPE_CHAR, TarEntry.TYPE_BLOCK,
                 TarEntry.TYPE_DIR, TarEntry.TYPE_FIFO -> 0;
            default -> size;
        };
    }

    /** Discards the rest of the current entry and its padding; false if the stream ended there. */
    private boolean skipRest() throws IOException {
        byte[] scratch = null;
        while (remaining > 0) {
            if (scratch == null) scratch = new byte[8192];
            int n = in.read(scratch, 0, (int) Math.min(scratch.length, remaining));
            if (n < 0) {
                throw new TarFormatException("tar is truncated: entry '" + currentName + "' ends at byte "
                        + offset + " with " + remaining + " bytes of data missing; the layer file is incomplete");
            }
            offset += n;
            remaining -= n;
        }
        if (padding > 0) {
            // Go stops quietly when the padding after the last entry is missing; so do we.
            int want = (int) padding;
            padding = 0;
            return readUpTo(block, want) == want;
        }
        return true;
    }

    /** Reads up to len bytes; returns how many were read (less only at end of stream). */
    private int readUpTo(byte[] b, int len) throws IOException {
        int n = 0;
        while (n < len) {
            int r = in.read(b, n, len - n);
            if (r < 0) break;
            n += r;
        }
        offset += n;
        return n;
    }

    private Header readHeader() throws IOException {
        long at = offset;
        int n = readUpTo(block, BLOCK);
        if (n == 0) return null;
        if (n < BLOCK) throw truncatedHeader(at);
        if (allZero(block)) {
            n = readUpTo(block, BLOCK);
            if (n == 0) return null;
            if (n < BLOCK) throw truncatedHeader(at + BLOCK);
            if (allZero(block)) return null;
            throw new TarFormatException("tar header at byte " + (at + BLOCK)
                    + " follows a zero block, expected a second zero block (end of archive); the archive is corrupt");
        }
        Format format = format(block);
        if (format == Format.UNKNOWN) {
            throw new TarFormatException("tar header at byte " + at
                    + " has a bad checksum or is not a tar header; expected a tar (plain, gzip or zstd) layer");
        }
        Header h = new Header();
        Numbers p = new Numbers();
        h.typeflag = (char) (block[156] & 0xff);
        h.name = cString(block, 0, 100);
        h.linkname = cString(block, 157, 100);
        h.size = p.numeric(block, 124, 12);
        h.mode = p.numeric(block, 100, 8);
        h.uid = p.numeric(block, 108, 8);
        h.gid = p.numeric(block, 116, 8);
        h.mtimeSec = p.numeric(block, 136, 12);
        if (format != Format.V7) {
            h.devMajor = p.numeric(block, 329, 8);
            h.devMinor = p.numeric(block, 337, 8);
            String prefix = "";
            switch (format) {
                case USTAR -> prefix = cString(block, 345, 155);
                case STAR -> {
                    prefix = cString(block, 345, 131);
                    h.atimeSec = p.numeric(block, 476, 12);
                    h.hasAtime = true;
                    h.ctimeSec = p.numeric(block, 488, 12);
                    h.hasCtime = true;
                }
                case GNU -> {
                    // Go ignores unparsable GNU time fields rather than failing the header.
                    Numbers q = new Numbers();
                    if (block[345] != 0) {
                        h.atimeSec = q.numeric(block, 345, 12);
                        h.hasAtime = true;
                    }
                    if (block[357] != 0) {
                        h.ctimeSec = q.numeric(block, 357, 12);
                        h.hasCtime = true;
                    }
                    if (q.error) {
                        h.hasAtime = false;
                        h.hasCtime = false;
                    }
                }
                default -> { }
            }
            if (!prefix.isEmpty()) h.name = prefix + "/" + h.name;
        }
        if (p.error) {
            throw new TarFormatException("tar header of '" + h.name + "' at byte " + at
                    + " has a numeric field that is neither octal nor base-256; the archive is corrupt");
        }
        return h;
    }

    private TarFormatException truncatedHeader(long at) {
        return new TarFormatException("tar is truncated: the header at byte " + at
                + " is cut short; the layer file is incomplete");
    }

    private byte[] readSpecial(String name) throws IOException {
        if (remaining > MAX_SPECIAL_FILE) {
            throw new TarFormatException("tar metadata record '" + name + "' at byte " + offset + " is "
                    + remaining + " bytes, more than the 1 MiB limit; the archive is corrupt or hostile");
        }
        byte[] data = new byte[(int) remaining];
        int got = readUpTo(data, data.length);
        if (got < data.length) {
            throw new TarFormatException("tar is truncated inside metadata record '" + name
                    + "' at byte " + offset + "; the layer file is incomplete");
        }
        remaining = 0;
        return data;
    }

    private static Map<String, String> parsePax(byte[] data, String name, long at) throws InvalidLayerException {
        String s = new String(data, StandardCharsets.ISO_8859_1);
        Map<String, String> records = new LinkedHashMap<>();
        int pos = 0;
        while (pos < s.length()) {
            int space = s.indexOf(' ', pos);
            if (space < 0) throw badPax(name, at, "a record without a length");
            long n;
            try {
                n = Long.parseLong(s.substring(pos, space));
            } catch (NumberFormatException e) {
                throw badPax(name, at, "a record length that is not a number");
            }
            if (n < 5 || n > s.length() - pos) throw badPax(name, at, "a record length out of range");
            int end = (int) (pos + n);
            if (end <= space + 1 || s.charAt(end - 1) != '\n') throw badPax(name, at, "a record not ending in a newline");
            String rec = s.substring(space + 1, end - 1);
            int eq = rec.indexOf('=');
            if (eq < 0) throw badPax(name, at, "a record without '='");
            String k = rec.substring(0, eq);
            String v = rec.substring(eq + 1);
            boolean valid = !k.isEmpty() && switch (k) {
                case "path", "linkpath", "uname", "gname" -> v.indexOf('\0') < 0;
                default -> k.indexOf('\0') < 0;
            };
            if (!valid) throw badPax(name, at, "an invalid key or a NUL in a path");
            if (k.equals("GNU.sparse.offset") || k.equals("GNU.sparse.numbytes")) {
                records.put("GNU.sparse.map", v);
            } else {
                records.put(k, v);
            }
            pos = end;
        }
        return records;
    }

    private static TarFormatException badPax(String name, long at, String what) {
        return new TarFormatException("PAX header '" + name + "' at byte " + at + " has " + what
                + "; the archive is corrupt");
    }

    private static void mergePax(Header h, Map<String, String> pax, long at) throws InvalidLayerException {
        for (Map.Entry<String, String> e : pax.entrySet()) {
            String v = e.getValue();
            if (v.isEmpty()) continue;
            try {
                switch (e.getKey()) {
                    case "path" -> h.name = v;
                    case "linkpath" -> h.linkname = v;
                    case "uid" -> h.uid = Long.parseLong(v);
                    case "gid" -> h.gid = Long.parseLong(v);
                    case "size" -> h.size = Long.parseLong(v);
                    case "mtime" -> {
                        long[] t = paxTime(v);
                        h.mtimeSec = t[0];
                        h.mtimeNanos = (int) t[1];
                    }
                    case "atime" -> {
                        long[] t = paxTime(v);
                        h.atimeSec = t[0];
                        h.atimeNanos = (int) t[1];
                        h.hasAtime = true;
                    }
                    case "ctime" -> {
                        long[] t = paxTime(v);
                        h.ctimeSec = t[0];
                        h.ctimeNanos = (int) t[1];
                        h.hasCtime = true;
                    }
                    default -> { }
                }
            } catch (NumberFormatException ex) {
                throw new TarFormatException("PAX record " + e.getKey() + "=" + v + " for '" + h.name
                        + "' at byte " + at + " is not a valid number; the archive is corrupt");
            }
        }
    }

    /** PAX "sec[.frac]" as Go parses it: at most 9 fraction digits, normalised like time.Unix. */
    static long[] paxTime(String s) {
        int dot = s.indexOf('.');
        String ss = dot < 0 ? s : s.substring(0, dot);
        String sn = dot < 0 ? "" : s.substring(dot + 1);
        long secs = Long.parseLong(ss);
        if (sn.isEmpty()) return new long[] {secs, 0};
        for (int i = 0; i < sn.length(); i++) {
            char c = sn.charAt(i);
            if (c < '0' || c > '9') throw new NumberFormatException(s);
        }
        sn = sn.length() < 9 ? sn + "0".repeat(9 - sn.length()) : sn.substring(0, 9);
        long nanos = Long.parseLong(sn);
        if (!ss.isEmpty() && ss.charAt(0) == '-') nanos = -nanos;
        return unix(secs, nanos);
    }

    /** Go's time.Unix normalisation of (sec, nsec). */
    static long[] unix(long sec, long nsec) {
        if (nsec < 0 || nsec >= 1_000_000_000L) {
            long n = nsec / 1_000_000_000L;
            sec += n;
            nsec -= n * 1_000_000_000L;
            if (nsec < 0) {
                nsec += 1_000_000_000L;
                sec--;
            }
        }
        return new long[] {sec, nsec};
    }

    private enum Format { UNKNOWN, V7, USTAR, GNU, STAR }

    private static Format format(byte[] b) {
        Numbers p = new Numbers();
        long value = p.octal(b, 148, 8);
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int c = (i >= 148 && i < 156) ? ' ' : b[i];
            unsigned += c & 0xff;
            signed += (byte) c;
        }
        if (p.error || (value != unsigned && value != signed)) return Format.UNKNOWN;
        boolean ustarMagic = match(b, 257, "ustar\0");
        if (ustarMagic && match(b, 508, "tar\0")) return Format.STAR;
        if (ustarMagic) return Format.USTAR;
        if (match(b, 257, "ustar ") && match(b, 263, " \0")) return Format.GNU;
        return Format.V7;
    }

    private static boolean match(byte[] b, int off, String s) {
        for (int i = 0; i < s.length(); i++) {
            if (b[off + i] != (byte) s.charAt(i)) return false;
        }
        return true;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.ISO_8859_1);
    }

    private static String cString(byte[] b) {
        return cString(b, 0, b.length);
    }

    /** Go's parseNumeric/parseOctal, remembering failure instead of throwing mid-header. */
    static final class Numbers {
        boolean error;

        long numeric(byte[] b, int off, int len) {
            if (len > 0 && (b[off] & 0x80) != 0) {
                int inv = (b[off] & 0x40) != 0 ? 0xff : 0;
                long x = 0;
                for (int i = 0; i < len; i++) {
                    int c = (b[off + i] & 0xff) ^ inv;
                    if (i == 0) c &= 0x7f;
                    if ((x >>> 56) > 0) {
                        error = true;
                        return 0;
                    }
                    x = x << 8 | c;
                }
                if ((x >>> 63) > 0) {
                    error = true;
                    return 0;
                }
                return inv == 0xff ? ~x : x;
            }
            return octal(b, off, len);
        }

        long octal(byte[] b, int off, int len) {
            int start = off;
            int end = off + len;
            while (start < end && (b[start] == ' ' || b[start] == 0)) start++;
            while (end > start && (b[end - 1] == ' ' || b[end - 1] == 0)) end--;
            if (start == end) return 0;
            int stop = start;
            while (stop < end && b[stop] != 0) stop++;
            if (stop == start) {
                error = true;
                return 0;
            }
            long x = 0;
            for (int i = start; i < stop; i++) {
                int c = b[i];
                if (c < '0' || c > '7' || (x >>> 61) != 0) {
                    error = true;
                    return 0;
                }
                x = x << 3 | (c - '0');
            }
            return x;
        }
    }

    private static final class Header {
        String name;
        char typeflag;
        long mode;
        long uid;
        long gid;
        long size;
        String linkname;
        long devMajor;
        long devMinor;
        long mtimeSec;
        int mtimeNanos;
        boolean hasAtime;
        long atimeSec;
        int atimeNanos;
        boolean hasCtime;
        long ctimeSec;
        int ctimeNanos;
    }
}
