package dev.coffer.attest.cert;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Parsed certificates by their exact encoded bytes. A service that receives the same VCEK chain
 * with every request (as MAA-style requests carry it) parses it once instead of per request.
 * Bounded: when full it starts over, so hostile input cannot grow it without limit.
 */
public final class CertificateCache {
    private final int limit;
    private final Map<ByteBuffer, List<AmdCertificate>> parsed = new ConcurrentHashMap<>();

    public CertificateCache(int limit) {
        if (limit < 1) throw new IllegalArgumentException("cache limit must be positive, got " + limit);
        this.limit = limit;
    }

    /** Like {@link Certificates#parse(byte[])}; parse failures are not cached. */
    public List<AmdCertificate> parse(byte[] content) {
        ByteBuffer key = ByteBuffer.wrap(content);
        List<AmdCertificate> hit = parsed.get(key);
        if (hit != null) return hit;
        List<AmdCertificate> certs = List.copyOf(Certificates.parse(content));
        if (parsed.size() >= limit) parsed.clear();
        parsed.put(ByteBuffer.wrap(content.clone()), certs);
        return certs;
    }
}
