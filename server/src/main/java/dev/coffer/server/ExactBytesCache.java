package dev.coffer.server;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Parses of exact bytes, keyed by their SHA-256. A guest sends the same VCEK/ASK/ARK bundle and
 * the same endorsement with every report, and parsing them (base64, ASN.1, CBOR, extensions,
 * dates) cost more than verifying the report's signature; the signatures over them are cached
 * by the verifiers, so together a repeated bundle or endorsement costs one hash, one compare
 * and the per-request checks (validity against the clock, report signature, claims).
 *
 * <p>A hit also compares the stored bytes, so an entry is the parse of exactly those bytes:
 * a tampered or different input is a miss and is parsed and verified from scratch. Inputs that
 * fail to parse are not cached (the parser's exception reaches the caller). Least recently used
 * entries are dropped beyond the capacity, so a flood of distinct inputs cannot grow memory.
 * Thread-safe; the parsed values must be immutable, since every caller of the same bytes shares one.
 */
final class ExactBytesCache<T> {
    static final int DEFAULT_CAPACITY = 1024;
    private static final HexFormat HEX = HexFormat.of();

    private record Parsed<T>(byte[] bytes, T value) {}

    private final int capacity;
    private final Function<byte[], T> parser;
    private final LinkedHashMap<String, Parsed<T>> entries;

    ExactBytesCache(int capacity, Function<byte[], T> parser) {
        if (capacity < 1) throw new IllegalArgumentException("cache capacity must be >= 1, found " + capacity);
        this.capacity = capacity;
        this.parser = parser;
        this.entries = new LinkedHashMap<>(Math.min(capacity, 64), 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Parsed<T>> eldest) {
                return size() > ExactBytesCache.this.capacity;
            }
        };
    }

    /** The parse of these bytes; whatever the parser throws for bytes it refuses. */
    T parse(byte[] bytes) {
        String key = HEX.formatHex(AttestationService.sha256(bytes));
        synchronized (entries) {
            Parsed<T> e = entries.get(key);
            if (e != null && MessageDigest.isEqual(e.bytes, bytes)) return e.value;
        }
        T value = parser.apply(bytes);
        synchronized (entries) {
            entries.put(key, new Parsed<>(Arrays.copyOf(bytes, bytes.length), value));
        }
        return value;
    }

    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }
}
