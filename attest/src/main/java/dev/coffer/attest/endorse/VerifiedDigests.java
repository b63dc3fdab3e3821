package dev.coffer.attest.endorse;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Signature checks that already succeeded, each remembered as the SHA-256 of everything the
 * check read (algorithm, key, signed bytes, signature; see {@link #of}). A service appraising
 * the same endorser's documents again and again then pays for each signature once: a repeated
 * input is one hash and one lookup, and any change to any of its bytes is a different digest,
 * so a miss that is verified from scratch. Only successes are added, so a failure is never
 * remembered and a later genuine input is not refused because of it.
 *
 * <p>Bounded: at {@code limit} entries the set is emptied before the next is added, so a flood
 * of distinct (even validly signed) inputs costs the flooder their verifications and no memory;
 * the legitimate entries are re-verified once each. Thread-safe.
 */
final class VerifiedDigests {
    private final int limit;
    private final Set<ByteBuffer> digests = ConcurrentHashMap.newKeySet();
    private final LongAdder hits = new LongAdder();

    VerifiedDigests(int limit) {
        if (limit < 1) throw new IllegalArgumentException("expected a limit of at least 1 entry, found " + limit);
        this.limit = limit;
    }

    /**
     * SHA-256 over the parts, each preceded by its length, so that no two different lists of
     * parts (say a byte moved from the signed bytes to the signature) give the same input.
     */
    static byte[] of(byte[]... parts) {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] length = new byte[4];
        for (byte[] p : parts) {
            length[0] = (byte) (p.length >>> 24);
            length[1] = (byte) (p.length >>> 16);
            length[2] = (byte) (p.length >>> 8);
            length[3] = (byte) p.length;
            d.update(length);
            d.update(p);
        }
        return d.digest();
    }

    /** Whether a check with exactly this digest succeeded before (and is still remembered). */
    boolean contains(byte[] digest) {
        boolean hit = digests.contains(ByteBuffer.wrap(digest));
        if (hit) hits.increment();
        return hit;
    }

    /** Remembers a success. */
    void add(byte[] digest) {
        if (digests.size() >= limit) digests.clear();
        digests.add(ByteBuffer.wrap(digest.clone()));
    }

    int size() {
        return digests.size();
    }

    /** Lookups answered from memory since start (for tests and measurements). */
    long hits() {
        return hits.sum();
    }
}
