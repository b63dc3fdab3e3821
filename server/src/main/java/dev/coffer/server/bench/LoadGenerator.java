package dev.coffer.server.bench;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.client.MaaRequest;
import dev.coffer.server.http.Json;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Loopback load against a running server, meant to run in a process of its own. Evidence comes
 * from the simulated secure processor of the same Coffer home (the server must trust it); a pool
 * of {@value #POOL} distinct guests' requests is prepared before the timed phase. With a rate it
 * is open-loop: request i is due at {@code start + i/rate} and its latency counts from then, so
 * a stalled server shows up in p99 instead of silently lowering the load. The HTTP client is a
 * minimal keep-alive HTTP/1.1 one ({@link HttpConnection}) so that this process, which shares the
 * machine with the server, spends little CPU per request; it reports what it spent.
 */
public final class LoadGenerator {
    public enum Mode { attest, release }

    /** @param trust how an https server's certificate is checked */
    public record Config(String url, String adminToken, Path home, Mode mode, int rate, int concurrency, int warmupSeconds,
                         int seconds, dev.coffer.server.client.ServerTrust trust) {
        /** A server with a certificate the JDK trusts, or plain HTTP on loopback. */
        public Config(String url, String adminToken, Path home, Mode mode, int rate, int concurrency, int warmupSeconds, int seconds) {
            this(url, adminToken, home, mode, rate, concurrency, warmupSeconds, seconds, dev.coffer.server.client.ServerTrust.SYSTEM);
        }
    }

    /**
     * @param queueP50Millis the server's own queue time (its Server-Timing header) of the answered
     *                       requests, apart from the end-to-end latency; -1 when the server gave none
     * @param overloaded     errors that were 503 overloaded: the server refusing work beyond its queue
     * @param tail           where the slowest 1% of answered requests spent their time, on average
     *                       (null when the server gave no complete Server-Timing)
     */
    public record Result(String mode, long requests, long errors, double seconds, double perSecond, double p50Millis,
                         double p99Millis, double maxMillis, double queueP50Millis, double queueP99Millis, double queueMaxMillis,
                         long overloaded, double clientCpuMicrosPerRequest, String firstError, Tail tail) {
        public String summary() {
            String queue = queueP50Millis < 0 ? "" : String.format(java.util.Locale.ROOT,
                    "; server queue p50 %.2f ms, p99 %.2f ms, max %.1f ms", queueP50Millis, queueP99Millis, queueMaxMillis);
            return String.format(java.util.Locale.ROOT, "%s: %d requests in %.1f s = %.0f/s, p50 %.2f ms, p99 %.2f ms, max %.1f ms%s,"
                    + " errors %d (%d overloaded) (load generator CPU %.0f µs/request)%s",
                    mode, requests, seconds, perSecond, p50Millis, p99Millis, maxMillis, queue, errors, overloaded,
                    clientCpuMicrosPerRequest, tail == null ? "" : "\n" + tail.summary());
        }
    }

    /**
     * The slowest 1% of answers taken apart (mean milliseconds): {@code recv}, {@code queue} and
     * {@code handle} as the server reported them (Server-Timing), and {@code outside} the rest of
     * the end-to-end time: TLS and HTTP work before the server parsed the request and after its
     * handler answered, the network, and this process; {@code connecting} of them were the first
     * on their connection, whose latency includes connecting and the TLS handshake.
     */
    public record Tail(int requests, int connecting, double meanMillis, double recvMillis, double queueMillis, double handleMillis, double outsideMillis) {
        public String summary() {
            return String.format(java.util.Locale.ROOT, "slowest 1%% (%d requests, %d of them a new connection's first, mean %.1f ms): "
                    + "before the handler %.1f ms, admission queue %.1f ms, handler %.1f ms, outside the server's handling "
                    + "(connecting, TLS, HTTP I/O, network, load generator) %.1f ms",
                    requests, connecting, meanMillis, recvMillis, queueMillis, handleMillis, outsideMillis);
        }
    }

    private LoadGenerator() {}

    /**
     * Separate-process entry point: {@code java -cp ... dev.coffer.server.bench.LoadGenerator URL ADMIN-TOKEN HOME
     * attest|release RATE CONCURRENCY WARMUP SECONDS}; prints the summary line.
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 8) {
            System.err.println("usage: LoadGenerator URL ADMIN-TOKEN HOME attest|release RATE CONCURRENCY WARMUP SECONDS");
            System.exit(2);
        }
        Result r = run(new Config(args[0], args[1], Path.of(args[2]), Mode.valueOf(args[3]), Integer.parseInt(args[4]),
                Integer.parseInt(args[5]), Integer.parseInt(args[6]), Integer.parseInt(args[7])));
        System.out.println(r.summary());
        if (r.firstError() != null) System.out.println("first error: " + r.firstError());
        System.exit(0);
    }

    /** Distinct guests (each its own runtime RSA key and report) cycled through by the requests. */
    static final int POOL = 16;

    public static Result run(Config config) throws InterruptedException {
        CofferClient client = new CofferClient(config.url, config.adminToken, config.trust);
        String issuer = client.get("/.well-known/openid-configuration").path("issuer").asText();
        SimulatedSecureProcessor sim = SimulatedSecureProcessor.openOrCreate(config.home.resolve("sim-tee"));
        byte[] hostData = sha256(("bench-" + UUID.randomUUID()).getBytes());
        byte[] measurement = Arrays.copyOf(sha256("bench-measurement".getBytes()), 48);
        SimLaunch launch = sim.launch(measurement, hostData);
        String chain = sim.vcekPem() + sim.chainPem();
        // The bench guest is endorsed by the home's key and presents it, as an endorsed guest does:
        // the attest path measured includes the endorsement's verification.
        byte[] endorsement = dev.coffer.attest.endorse.EndorsementKey.openOrCreate(
                dev.coffer.server.AppraisalSettings.homeEndorsementKeyDir(config.home)).sign(java.util.HexFormat.of().formatHex(measurement), 0);
        // Evidence is made before the timed phase: RSA key generation and report signing are the
        // guest's cost, and doing them per request would measure this process instead of the server.
        List<byte[]> attestBodies = new ArrayList<>(POOL);
        for (int i = 0; i < POOL; i++) {
            RSAKey runtime;
            try {
                runtime = new RSAKeyGenerator(2048).keyID("TpmEphemeralEncryptionKey").generate();
            } catch (JOSEException e) {
                throw new IllegalStateException(e);
            }
            byte[] runtimeJson = Json.bytes(Map.of("keys", List.of(runtime.toPublicJWK().toJSONObject())));
            byte[] report = launch.report(Arrays.copyOf(sha256(runtimeJson), 64));
            attestBodies.add(Json.bytes(MaaRequest.body(report, chain, List.of(endorsement), runtimeJson, "bench-" + i)));
        }
        String path;
        List<byte[]> bodies;
        if (config.mode == Mode.attest) {
            path = "/attest/SevSnpVm";
            bodies = attestBodies;
        } else {
            String name = "bench-" + UUID.randomUUID().toString().substring(0, 8);
            client.post("/keys/" + name + "/create", Map.of("kty", "oct", "exportable", true, "release_policy",
                    dev.coffer.server.policy.ReleasePolicies.forCofferGuest(issuer, HexFormat.of().formatHex(hostData), "sim")));
            path = "/keys/" + name + "/release";
            bodies = new ArrayList<>(POOL);
            for (byte[] attestBody : attestBodies) {
                String token = client.post("/attest/SevSnpVm", parse(attestBody)).path("token").asText();
                bodies.add(Json.bytes(Map.of("target", token)));
            }
        }
        URI uri = URI.create(config.url);
        List<byte[]> requests = new ArrayList<>(bodies.size());
        for (byte[] body : bodies) requests.add(HttpConnection.request(uri, path, body));
        // one keep-alive connection per worker, opened during the warm-up and kept for the measured phase
        HttpConnection[] connections = new HttpConnection[config.concurrency];
        if (config.warmupSeconds > 0) phase(uri, requests, config, config.warmupSeconds, null, connections);
        Recorder rec = new Recorder(Math.max(1024, (config.rate > 0 ? config.rate : 5000) * config.seconds * 2));
        long cpu0 = processCpuNanos();
        long t0 = System.nanoTime();
        try {
            phase(uri, requests, config, config.seconds, rec, connections);
        } finally {
            for (HttpConnection c : connections) {
                if (c != null) c.close();
            }
        }
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long cpu = processCpuNanos() - cpu0;
        return rec.result(config.mode.name(), elapsed, cpu);
    }

    private static com.fasterxml.jackson.databind.JsonNode parse(byte[] json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** CPU time of this whole process (all threads), or -1 where the platform does not say. */
    private static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
    }

    /**
     * One timed phase over {@code concurrency} keep-alive connections, each driven by its own
     * thread. Without a rate every connection sends its next request as soon as the previous
     * answer arrives (closed loop). With a rate a pacer hands out due times and latency counts
     * from the due time, so queueing behind busy connections is measured, not hidden.
     *
     * <p>Worker {@code w} uses {@code connections[w]}, opening it if there is none (or the last
     * one broke) and leaving it there for the next phase: connections opened in the warm-up
     * serve the measured phase, as a warm client's would. Without a warm-up, or after a broken
     * connection, the first answer on a new connection includes connecting and the TLS
     * handshake, and the tail report counts such answers.
     */
    private static void phase(URI uri, List<byte[]> requests, Config config, int seconds, Recorder rec,
                              HttpConnection[] connections) throws InterruptedException {
        javax.net.ssl.SSLContext tls = config.trust.sslContext();
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        BlockingQueue<Long> due = config.rate > 0 ? new LinkedBlockingQueue<>() : null;
        AtomicLong next = new AtomicLong();
        List<Thread> workers = new ArrayList<>(config.concurrency);
        for (int w = 0; w < config.concurrency; w++) {
            int worker = w;
            workers.add(Thread.ofPlatform().name("bench-" + w).daemon().start(() -> {
                HttpConnection conn = connections[worker];
                try {
                    while (true) {
                        long scheduled;
                        if (due != null) {
                            Long d = due.poll(Math.max(1, end - System.nanoTime()) + 50_000_000L, TimeUnit.NANOSECONDS);
                            if (d == null || d < 0) return;
                            scheduled = d;
                        } else {
                            scheduled = System.nanoTime();
                            if (scheduled >= end) return;
                        }
                        byte[] request = requests.get((int) (next.getAndIncrement() % requests.size()));
                        try {
                            boolean fresh = conn == null;
                            if (fresh) conn = HttpConnection.open(uri, tls);
                            HttpConnection.Response r = conn.exchange(request);
                            if (r.close()) {
                                conn.close();
                                conn = null;
                            }
                            if (rec != null) {
                                if (r.status() == 200) rec.ok(System.nanoTime() - scheduled, r.timing(), fresh);
                                else rec.error("HTTP " + r.status() + ": " + new String(r.body(), 0, Math.min(300, r.body().length),
                                        java.nio.charset.StandardCharsets.UTF_8), r.status() == 503);
                            }
                        } catch (IOException e) {
                            if (rec != null) rec.error(e.toString(), false);
                            if (conn != null) conn.close();
                            conn = null;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    connections[worker] = conn; // kept open for the next phase; run() closes them at the end
                }
            }));
        }
        if (due != null) {
            for (long i = 0; ; i++) {
                long d = start + (long) (i * 1e9 / config.rate);
                if (d >= end) break;
                long wait = d - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                due.add(d);
            }
            for (int w = 0; w < config.concurrency; w++) due.add(-1L);
        }
        for (Thread t : workers) t.join();
    }

    private static final class Recorder {
        private final long[] latencies;
        private final HttpConnection.ServerTiming[] timings;
        /** Answers that were their connection's first: their latency includes connecting (and the TLS handshake). */
        private final boolean[] fresh;
        private final AtomicLong count = new AtomicLong();
        private final AtomicLong oks = new AtomicLong();
        private final AtomicLong errors = new AtomicLong();
        private final AtomicLong overloaded = new AtomicLong();
        private final AtomicReference<String> firstError = new AtomicReference<>();

        Recorder(int capacity) {
            latencies = new long[capacity];
            timings = new HttpConnection.ServerTiming[capacity];
            fresh = new boolean[capacity];
        }

        void ok(long nanos, HttpConnection.ServerTiming timing, boolean firstOnConnection) {
            count.incrementAndGet();
            long i = oks.getAndIncrement();
            if (i < latencies.length) {
                latencies[(int) i] = nanos;
                timings[(int) i] = timing;
                fresh[(int) i] = firstOnConnection;
            }
        }

        void error(String what, boolean overload) {
            errors.incrementAndGet();
            if (overload) overloaded.incrementAndGet();
            count.incrementAndGet();
            firstError.compareAndSet(null, what);
        }

        Result result(String mode, double seconds, long cpuNanos) {
            long n = count.get();
            int okCount = (int) Math.min(oks.get(), latencies.length);
            long[] sorted = Arrays.copyOf(latencies, okCount);
            Arrays.sort(sorted);
            double[] queue = new double[okCount];
            for (int i = 0; i < okCount; i++) queue[i] = timings[i].queueMillis();
            Arrays.sort(queue);
            boolean timed = queue.length > 0 && queue[0] >= 0; // every answer said its queue time
            double q50 = timed ? queue[(int) (queue.length * 0.50)] : -1;
            double q99 = timed ? queue[Math.min(queue.length - 1, (int) (queue.length * 0.99))] : -1;
            double qMax = timed ? queue[queue.length - 1] : -1;
            double p50 = sorted.length == 0 ? 0 : sorted[(int) (sorted.length * 0.50)] / 1e6;
            double p99 = sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (sorted.length * 0.99))] / 1e6;
            double max = sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6;
            double cpuPerRequest = cpuNanos < 0 || n == 0 ? -1 : cpuNanos / 1e3 / n;
            return new Result(mode, n, errors.get(), seconds, n / seconds, p50, p99, max, q50, q99, qMax, overloaded.get(),
                    cpuPerRequest, firstError.get(), tail(okCount, sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (sorted.length * 0.99))]));
        }

        /** The answers at or above the p99 latency, taken apart; null unless each said all its times. */
        private Tail tail(int okCount, long p99Nanos) {
            int k = 0, connecting = 0;
            double total = 0, recv = 0, queue = 0, handle = 0;
            for (int i = 0; i < okCount; i++) {
                if (latencies[i] < p99Nanos) continue;
                HttpConnection.ServerTiming t = timings[i];
                if (t.serverMillis() < 0) return null;
                k++;
                if (fresh[i]) connecting++;
                total += latencies[i] / 1e6;
                recv += t.recvMillis();
                queue += t.queueMillis();
                handle += t.handleMillis();
            }
            if (k == 0) return null;
            return new Tail(k, connecting, total / k, recv / k, queue / k, handle / k, (total - recv - queue - handle) / k);
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
