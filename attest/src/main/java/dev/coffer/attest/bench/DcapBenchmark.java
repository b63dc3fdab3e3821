package dev.coffer.attest.bench;

import dev.coffer.attest.dcap.Collateral;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.DcapVerdict;
import dev.coffer.attest.dcap.DcapVerifier;
import dev.coffer.attest.verify.CheckResult;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Throughput of Intel DCAP quote verification: parse, attestation-key and QE report signatures,
 * QE binding, PCK chain, and with collateral the CRLs, TCB info and QE identity signatures and
 * the TCB evaluation. Nothing is cached between verifications, so this is the cost per quote.
 */
public final class DcapBenchmark {
    private DcapBenchmark() {}

    public static VerificationBenchmark.Result run(DcapVerifier verifier, byte[] quote, Optional<Collateral> collateral, Instant at,
                                                   int threads, Duration warmup, Duration duration) throws Exception {
        long t0 = System.nanoTime();
        once(verifier, quote, collateral, at);
        long cold = (System.nanoTime() - t0) / 1000;
        runFor(verifier, quote, collateral, at, threads, warmup);
        long start = System.nanoTime();
        List<long[]> latencies = runFor(verifier, quote, collateral, at, threads, duration);
        long elapsed = System.nanoTime() - start;
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
        return new VerificationBenchmark.Result(cold, total, total / (elapsed / 1e9), all[all.length / 2] / 1000,
                all[Math.min(all.length - 1, (int) (all.length * 0.99))] / 1000, threads, Duration.ofNanos(elapsed),
                total == 0 ? 0 : cpu / 1000.0 / total);
    }

    private static void once(DcapVerifier verifier, byte[] quote, Optional<Collateral> collateral, Instant at) {
        DcapQuote q = DcapQuote.parse(quote);
        DcapVerdict v = collateral.map(c -> verifier.verify(q, c, at)).orElseGet(() -> verifier.verifyWithoutCollateral(q, at));
        // Without collateral only the TCB level is missing; every signature and the chain must still verify.
        boolean ok = collateral.isPresent() ? v.valid()
                : v.failures().stream().map(CheckResult::name).allMatch("tcb_status"::equals);
        if (!ok) throw new IllegalStateException("benchmark quote failed verification: " + v.summary());
    }

    private static List<long[]> runFor(DcapVerifier verifier, byte[] quote, Optional<Collateral> collateral, Instant at,
                                       int threads, Duration d) throws Exception {
        long deadline = System.nanoTime() + d.toNanos();
        try (var pool = Executors.newFixedThreadPool(threads)) {
            List<Future<long[]>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    var mx = java.lang.management.ManagementFactory.getThreadMXBean();
                    long cpu0 = mx.getCurrentThreadCpuTime();
                    long[] lat = new long[1 << 12];
                    int n = 0;
                    while (System.nanoTime() < deadline) {
                        long s = System.nanoTime();
                        once(verifier, quote, collateral, at);
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
}
