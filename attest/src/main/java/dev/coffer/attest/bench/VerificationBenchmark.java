package dev.coffer.attest.bench;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.Verdict;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures report verification throughput the way the attestation service uses the verifier:
 * one shared {@link SnpVerifier} (certificate chain cached after the first call), raw report
 * bytes parsed and verified per request, on several threads. Prints nothing; returns figures.
 */
public final class VerificationBenchmark {
    private VerificationBenchmark() {}

    /**
     * @param coldMicros       time of the first verification with an empty cache (chain verified)
     * @param verifications    verifications completed in the measured interval
     * @param perSecond        throughput over all threads
     * @param p50Micros        median latency of one parse+verify
     * @param p99Micros        99th percentile latency
     */
    public record Result(long coldMicros, long verifications, double perSecond, long p50Micros, long p99Micros,
                         int threads, Duration measured, double cpuMicrosPerVerification) {
        /** Verifications one fully available core sustains, from CPU time: robust on a shared machine. */
        public double perCorePerSecond() {
            return cpuMicrosPerVerification > 0 ? 1e6 / cpuMicrosPerVerification : 0;
        }

        @Override
        public String toString() {
            return String.format("%,.0f verifications/s on %d thread(s) (%,d in %.1f s); latency p50 %d µs, p99 %d µs; "
                    + "CPU %.0f µs per verification (%,.0f/s per free core); first (uncached chain) %d µs",
                    perSecond, threads, verifications, measured.toMillis() / 1000.0, p50Micros, p99Micros,
                    cpuMicrosPerVerification, perCorePerSecond(), coldMicros);
        }
    }

    /**
     * Runs a warm-up, then {@code threads} workers for {@code duration}, each cycling through
     * {@code reports}. Every verdict must be valid; a benchmark of failures would measure nothing.
     */
    public static Result run(SnpVerifier verifier, List<byte[]> reports, List<AmdCertificate> certificates,
                             int threads, Duration warmup, Duration duration) throws Exception {
        if (reports.isEmpty()) throw new IllegalArgumentException("no reports to verify");
        long t0 = System.nanoTime();
        check(verifier.verify(SnpReport.parse(reports.getFirst()), certificates));
        long cold = (System.nanoTime() - t0) / 1000;

        runFor(verifier, reports, certificates, threads, warmup);
        long start = System.nanoTime();
        List<long[]> latencies = runFor(verifier, reports, certificates, threads, duration);
        long elapsed = System.nanoTime() - start;
        // The last element of each worker's array is its CPU time; the rest are latencies.
        long cpu = 0;
        for (int i = 0; i < latencies.size(); i++) {
            long[] a = latencies.get(i);
            cpu += a[a.length - 1];
            latencies.set(i, Arrays.copyOf(a, a.length - 1));
        }
        long total = latencies.stream().mapToLong(a -> a.length).sum();
        long[] all = new long[(int) total];
        int p = 0;
        for (long[] a : latencies) {
            System.arraycopy(a, 0, all, p, a.length);
            p += a.length;
        }
        Arrays.sort(all);
        return new Result(cold, total, total / (elapsed / 1e9), all[all.length / 2] / 1000,
                all[Math.min(all.length - 1, (int) (all.length * 0.99))] / 1000, threads, Duration.ofNanos(elapsed),
                total == 0 ? 0 : cpu / 1000.0 / total);
    }

    private static List<long[]> runFor(SnpVerifier verifier, List<byte[]> reports, List<AmdCertificate> certs,
                                       int threads, Duration d) throws Exception {
        long deadline = System.nanoTime() + d.toNanos();
        try (var pool = Executors.newFixedThreadPool(threads)) {
            List<Future<long[]>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int offset = t;
                futures.add(pool.submit(() -> {
                    var mx = java.lang.management.ManagementFactory.getThreadMXBean();
                    long cpu0 = mx.getCurrentThreadCpuTime();
                    long[] lat = new long[1 << 16];
                    int n = 0;
                    for (int i = offset; System.nanoTime() < deadline; i++) {
                        long s = System.nanoTime();
                        check(verifier.verify(SnpReport.parse(reports.get(i % reports.size())), certs));
                        if (n == lat.length) lat = Arrays.copyOf(lat, n * 2);
                        lat[n++] = System.nanoTime() - s;
                    }
                    long[] result = Arrays.copyOf(lat, n + 1);
                    result[n] = mx.getCurrentThreadCpuTime() - cpu0;
                    return result;
                }));
            }
            List<long[]> out = new ArrayList<>();
            for (Future<long[]> f : futures) out.add(f.get());
            return out;
        }
    }

    private static void check(Verdict v) {
        if (!v.valid()) throw new IllegalStateException("benchmark evidence failed verification: " + v.summary());
    }
}
