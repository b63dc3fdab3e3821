package dev.coffer.server;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.Certificates;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parsed VCEK/ASK/ARK bundles keyed by the SHA-256 of their exact bytes. Guests of one chip send
 * the same bundle with every report, and parsing it (base64, ASN.1, extensions, dates) cost more
 * than verifying the report's signature; the chain's RSA signatures are cached by the verifier
 * per certificate fingerprint, so together a repeated bundle costs one hash, one compare and
 * the per-request checks (validity against the clock, report signature, claims).
 *
 * <p>A hit also compares the stored bytes, so an entry is the parse of exactly those bytes:
 * a tampered or different bundle is a miss and is parsed and verified from scratch. Bundles
 * that fail to parse are not cached. Least recently used entries are dropped beyond the
 * capacity, so a flood of distinct bundles cannot grow memory. Thread-safe.
 */
final class CertificateBundleCache {
    static final int DEFAULT_CAPACITY = 1024;
    private static final HexFormat HEX = HexFormat.of();

    private record Parsed(byte[] bytes, List<AmdCertificate> certificates) {}

    private final int capacity;
    private final LinkedHashMap<String, Parsed> entries;

    CertificateBundleCache(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("cache capacity must be >= 1, found " + capacity);
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(Math.min(capacity, 64), 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Parsed> eldest) {
                return size() > CertificateBundleCache.this.capacity;
            }
        };
    }

    /** The certificates of this PEM bundle; throws {@link IllegalArgumentException} if it does not parse. */
    List<AmdCertificate> parse(byte[] pemBundle) {
        String key = HEX.formatHex(AttestationService.sha256(pemBundle));
        synchronized (entries) {
            Parsed e = entries.get(key);
            if (e != null && MessageDigest.isEqual(e.bytes, pemBundle)) return e.certificates;
        }
        List<AmdCertificate> certs = List.copyOf(Certificates.parsePem(new String(pemBundle, StandardCharsets.ISO_8859_1)));
        synchronized (entries) {
            entries.put(key, new Parsed(Arrays.copyOf(pemBundle, pemBundle.length), certs));
        }
        return certs;
    }

    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }
}
