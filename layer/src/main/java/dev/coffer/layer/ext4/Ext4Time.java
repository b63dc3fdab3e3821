package dev.coffer.layer.ext4;

/**
 * ext4 timestamps as Azure's writer encodes them: 34 bits of seconds and 30 bits of nanoseconds
 * in one 64-bit value (low half in the classic field, high half in the "extra" field), with
 * Go's clamping. Zero means "no time".
 */
public final class Ext4Time {
    private static final long MIN_SECONDS = -0x80000000L;
    private static final long MAX_SECONDS = 0x37fffffffL;

    private Ext4Time() {}

    /** Encodes a Unix time; nanos must be in [0, 1e9) as Go's time.Time keeps them. */
    public static long encode(long seconds, int nanos) {
        if (seconds < MIN_SECONDS) return 0x80000000L;
        if (seconds > MAX_SECONDS) return MAX_SECONDS;
        return seconds | ((long) nanos << 34);
    }

    /**
     * Decodes and re-encodes, as the writer's Stat followed by Create does when a directory is
     * updated (opaque whiteouts): this is not always the identity, and hashes depend on it.
     */
    static long roundTrip(long t) {
        if (t == 0) return 0;
        long s = t & 0x3ffffffffL;
        if (s > 0x7fffffffL && s < 0x100000000L) s = (int) s;
        long ns = t >>> 34;
        if (ns >= 1_000_000_000L) {
            s += ns / 1_000_000_000L;
            ns %= 1_000_000_000L;
        }
        return encode(s, (int) ns);
    }
}
