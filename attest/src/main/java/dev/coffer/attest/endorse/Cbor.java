package dev.coffer.attest.endorse;

import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The subset of CBOR (RFC 8949) that COSE_Sign1 endorsements use, read strictly and within
 * bounds: definite lengths only, no floats, byte and text strings, integers, arrays, maps, tags
 * and the simple values false/true/null. Every length is checked against the bytes that remain
 * before anything is allocated, nesting is bounded, and so is the number of items in a container,
 * so a hostile document costs at most its own size.
 */
final class Cbor {
    static final int MAX_DEPTH = 8;
    static final int MAX_ITEMS = 64;

    sealed interface Item permits Int, Bytes, Text, Array, MapItem, Tagged, Simple {
        String kind();
    }

    record Int(long value) implements Item {
        public String kind() { return "integer " + value; }
    }

    record Bytes(byte[] value) implements Item {
        public String kind() { return "byte string (" + value.length + " bytes)"; }
    }

    record Text(String value) implements Item {
        public String kind() { return "text string"; }
    }

    record Array(List<Item> items) implements Item {
        public String kind() { return "array of " + items.size(); }
    }

    record Entry(Item key, Item value) {}

    record MapItem(List<Entry> entries) implements Item {
        public String kind() { return "map of " + entries.size(); }
    }

    record Tagged(long tag, Item content) implements Item {
        public String kind() { return "tag " + tag; }
    }

    record Simple(int value) implements Item {
        public String kind() {
            return switch (value) {
                case 20 -> "false";
                case 21 -> "true";
                case 22 -> "null";
                default -> "simple value " + value;
            };
        }
    }

    private Cbor() {}

    /** Decodes exactly one item spanning all of {@code data}; {@code what} names it in errors. */
    static Item decode(byte[] data, String what) {
        Reader r = new Reader(data, what);
        Item item = r.item(0);
        if (r.pos != data.length) {
            throw new EndorsementFormatException(what + ": " + (data.length - r.pos) + " trailing byte(s) after the CBOR item that ends at offset "
                    + r.pos + "; expected the item to span the whole input");
        }
        return item;
    }

    private static final class Reader {
        final byte[] data;
        final String what;
        int pos;

        Reader(byte[] data, String what) {
            this.data = data;
            this.what = what;
        }

        Item item(int depth) {
            if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
            int start = pos;
            int initial = u8("an item header");
            int major = initial >>> 5, info = initial & 0x1f;
            if (info == 31) throw error("indefinite-length item at offset " + start + "; only definite lengths are accepted");
            if (info >= 28) throw error("reserved additional information " + info + " at offset " + start);
            long arg = argument(info);
            return switch (major) {
                case 0 -> {
                    if (arg < 0) throw error("unsigned integer at offset " + start + " exceeds 2^63-1");
                    yield new Int(arg);
                }
                case 1 -> {
                    if (arg < 0) throw error("negative integer at offset " + start + " is below -2^63");
                    yield new Int(-1 - arg);
                }
                case 2 -> new Bytes(take(arg, "byte string", start));
                case 3 -> new Text(utf8(take(arg, "text string", start), start));
                case 4 -> {
                    int n = count(arg, "array", start);
                    List<Item> items = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) items.add(item(depth + 1));
                    yield new Array(List.copyOf(items));
                }
                case 5 -> {
                    int n = count(arg, "map", start);
                    List<Entry> entries = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        Item key = item(depth + 1);
                        for (Entry e : entries) {
                            if (sameKey(e.key(), key)) throw error("duplicate map key " + describe(key) + " in the map at offset " + start);
                        }
                        entries.add(new Entry(key, item(depth + 1)));
                    }
                    yield new MapItem(List.copyOf(entries));
                }
                case 6 -> {
                    if (arg < 0) throw error("tag number at offset " + start + " out of range");
                    yield new Tagged(arg, item(depth + 1));
                }
                default -> {
                    if (info >= 25) throw error("floating-point value at offset " + start + "; not used by COSE_Sign1 endorsements");
                    if (info == 24 && arg < 32) throw error("simple value " + arg + " at offset " + start + " encoded in two bytes");
                    yield new Simple((int) arg);
                }
            };
        }

        long argument(int info) {
            if (info < 24) return info;
            int n = 1 << (info - 24);
            if (data.length - pos < n) throw truncated(n + "-byte length/value argument");
            long v = 0;
            for (int i = 0; i < n; i++) v = (v << 8) | (data[pos++] & 0xff);
            return v;
        }

        int count(long n, String kind, int start) {
            if (n < 0 || n > MAX_ITEMS) {
                throw error(kind + " at offset " + start + " claims " + Long.toUnsignedString(n) + " items; at most " + MAX_ITEMS + " are accepted");
            }
            // Each item takes at least one byte: a claim beyond the remaining bytes is a truncation, found before allocating.
            long needed = kind.equals("map") ? 2 * n : n;
            if (needed > data.length - pos) throw truncated(kind + " of " + n + " items at offset " + start);
            return (int) n;
        }

        byte[] take(long n, String kind, int start) {
            if (n < 0 || n > data.length - pos) {
                throw truncated(kind + " at offset " + start + " claiming " + Long.toUnsignedString(n) + " bytes with "
                        + (data.length - pos) + " left");
            }
            byte[] out = java.util.Arrays.copyOfRange(data, pos, pos + (int) n);
            pos += (int) n;
            return out;
        }

        int u8(String expected) {
            if (pos >= data.length) throw truncated(expected + " at offset " + pos);
            return data[pos++] & 0xff;
        }

        String utf8(byte[] b, int start) {
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw error("text string at offset " + start + " is not valid UTF-8");
            }
        }

        EndorsementFormatException truncated(String expected) {
            return new EndorsementFormatException(what + " is truncated: expected " + expected + ", but the input ends after "
                    + data.length + " bytes; supply the complete COSE_Sign1 document");
        }

        EndorsementFormatException error(String detail) {
            return new EndorsementFormatException(what + " is not valid CBOR for a COSE_Sign1 endorsement: " + detail);
        }
    }

    static boolean sameKey(Item a, Item b) {
        if (a instanceof Int x && b instanceof Int y) return x.value() == y.value();
        if (a instanceof Text x && b instanceof Text y) return x.value().equals(y.value());
        if (a instanceof Bytes x && b instanceof Bytes y) return java.util.Arrays.equals(x.value(), y.value());
        return false;
    }

    static String describe(Item key) {
        return switch (key) {
            case Int i -> Long.toString(i.value());
            case Text t -> '"' + t.value() + '"';
            default -> key.kind();
        };
    }

    /** A minimal canonical encoder: shortest argument form, definite lengths, entries in the order given. */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Writer head(int major, long arg) {
            if (arg < 24) {
                out.write((major << 5) | (int) arg);
            } else if (arg < 0x100) {
                out.write((major << 5) | 24);
                out.write((int) arg);
            } else if (arg < 0x10000) {
                out.write((major << 5) | 25);
                writeBE(arg, 2);
            } else if (arg < 0x100000000L) {
                out.write((major << 5) | 26);
                writeBE(arg, 4);
            } else {
                out.write((major << 5) | 27);
                writeBE(arg, 8);
            }
            return this;
        }

        private void writeBE(long v, int n) {
            for (int i = n - 1; i >= 0; i--) out.write((int) (v >>> (8 * i)));
        }

        Writer integer(long v) {
            return v >= 0 ? head(0, v) : head(1, -1 - v);
        }

        Writer bytes(byte[] b) {
            head(2, b.length);
            out.writeBytes(b);
            return this;
        }

        Writer text(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            head(3, b.length);
            out.writeBytes(b);
            return this;
        }

        Writer array(int n) { return head(4, n); }

        Writer map(int n) { return head(5, n); }

        Writer tag(long t) { return head(6, t); }

        byte[] toByteArray() { return out.toByteArray(); }
    }
}
