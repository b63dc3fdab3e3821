package dev.coffer.attest.bench;

import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.attest.endorse.TrustedEndorser;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * Measures guest endorsement appraisal as the attestation service does it per request when the
 * endorsement comes with the evidence: parse the COSE_Sign1 bytes, then verify chain, did:x509,
 * signature, issuer/feed, measurement and SVN. One thread; prints nothing, returns figures.
 */
public final class EndorsementBenchmark {
    private EndorsementBenchmark() {}

    /**
     * @param appraisals           parse+verify runs in the measured interval
     * @param perSecond            throughput of the one thread
     * @param p50Micros            median latency of one parse+verify
     * @param p99Micros            99th percentile
     * @param cpuMicrosPerAppraisal CPU time per parse+verify
     */
    public record Result(long appraisals, double perSecond, long p50Micros, long p99Micros, double cpuMicrosPerAppraisal,
                         Duration measured, int documentBytes) {
        @Override
        public String toString() {
            return String.format("endorsement parse+verify: %,.0f/s on 1 thread (%,d in %.1f s); latency p50 %d µs, p99 %d µs;"
                    + " CPU %.0f µs per appraisal; document %d bytes", perSecond, appraisals, measured.toMillis() / 1000.0,
                    p50Micros, p99Micros, cpuMicrosPerAppraisal, documentBytes);
        }
    }

    /** Appraises {@code cose} against {@code measurementHex} repeatedly; every appraisal must endorse. */
    public static Result run(byte[] cose, String measurementHex, List<TrustedEndorser> trusted, Duration warmup, Duration duration) {
        loop(cose, measurementHex, trusted, warmup, null);
        long[] latencies = new long[1 << 20];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long cpu0 = mx.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        int n = loop(cose, measurementHex, trusted, duration, latencies);
        long elapsed = System.nanoTime() - start;
        long cpu = mx.getCurrentThreadCpuTime() - cpu0;
        long[] done = Arrays.copyOf(latencies, n);
        Arrays.sort(done);
        return new Result(n, n / (elapsed / 1e9), done[n / 2] / 1000, done[Math.min(n - 1, (int) (n * 0.99))] / 1000,
                cpu / 1000.0 / n, Duration.ofNanos(elapsed), cose.length);
    }

    private static int loop(byte[] cose, String measurementHex, List<TrustedEndorser> trusted, Duration d, long[] latencies) {
        long end = System.nanoTime() + d.toNanos();
        int n = 0;
        do {
            long t = System.nanoTime();
            EndorsementVerdict v = EndorsementVerifier.verify(GuestEndorsement.parse(cose), measurementHex, Instant.now(), trusted);
            if (!v.endorsed()) throw new IllegalStateException("benchmark endorsement refused: " + v.summary());
            if (latencies != null && n < latencies.length) latencies[n] = System.nanoTime() - t;
            n++;
        } while (System.nanoTime() < end && (latencies == null || n < latencies.length));
        return n;
    }
}
