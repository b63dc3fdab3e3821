package dev.coffer.attest.dcap;

import java.util.Arrays;

/** Little-endian reads over a byte range that name the field when the input is too short. */
final class Bytes {
    private final byte[] data;
    private final int base;
    private final int length;
    private final String what;

    Bytes(byte[] data, int base, int length, String what) {
        if (base < 0 || length < 0 || base + (long) length > data.length) {
            throw new QuoteFormatException(what + ": expected " + length + " bytes at offset " + base
                    + " but the input has " + Math.max(0, data.length - base) + " there; the quote is truncated");
        }
        this.data = data;
        this.base = base;
        this.length = length;
        this.what = what;
    }

    int length() { return length; }

    private void need(int off, int n, String field) {
        if (off < 0 || n < 0 || off + (long) n > length) {
            throw new QuoteFormatException(what + ": " + field + " needs " + n + " bytes at offset " + (base + off)
                    + " but only " + Math.max(0, length - off) + " remain; the quote is truncated or a size field is wrong");
        }
    }

    int u8(int off) { need(off, 1, "u8"); return data[base + off] & 0xff; }

    int u16(int off) {
        need(off, 2, "u16");
        return (data[base + off] & 0xff) | (data[base + off + 1] & 0xff) << 8;
    }

    long u32(int off) {
        need(off, 4, "u32");
        return (data[base + off] & 0xffL) | (data[base + off + 1] & 0xffL) << 8
                | (data[base + off + 2] & 0xffL) << 16 | (data[base + off + 3] & 0xffL) << 24;
    }

    long u64(int off) {
        need(off, 8, "u64");
        return u32(off) | u32(off + 4) << 32;
    }

    byte[] slice(int off, int n) {
        need(off, n, "a " + n + "-byte field");
        return Arrays.copyOfRange(data, base + off, base + off + n);
    }

    /** A sub-range, checked against this range, for a nested structure. */
    Bytes sub(int off, long n, String field) {
        if (n > Integer.MAX_VALUE) n = Integer.MAX_VALUE;
        need(off, (int) n, field);
        return new Bytes(data, base + off, (int) n, field);
    }

    int absolute(int off) { return base + off; }

    byte[] array() { return data; }
}
