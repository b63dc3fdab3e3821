package dev.coffer.server.bench;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.client.MaaRequest;
import dev.coffer.server.http.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Loopback load against a running server, meant to run in a process of its own. Evidence comes
 * from the simulated secure processor of the same Coffer home (the server must trust it). With a
 * rate it is open-loop: request i is due at {@code start + i/rate} and its latency counts from
 * then, so a stalled server shows up in p99 instead of silently lowering the load.
 */
public final class LoadGenerator {
    public enum Mode { attest, release }

    public record Config(String url, String adminToken, Path home, Mode mode, int rate, int concurrency, int warmupSeconds,
                         int seconds) {}

    public record Result(String mode, long requests, long errors, double seconds, double perSecond, double p50Millis,
                         double p99Millis, double maxMillis, String firstError) {
        public String summary() {
            return String.format("%s: %d requests in %.1f s = %.0f/s, p50 %.2f ms, p99 %.2f ms, max %.1f ms, errors %d",
                    mode, requests, seconds, perSecond, p50Millis, p99Millis, maxMillis, errors);
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

    public static Result run(Config config) throws InterruptedException {
        CofferClient client = new CofferClient(config.url, config.adminToken);
        String issuer = client.get("/.well-known/openid-configuration").path("issuer").asText();
        SimulatedSecureProcessor sim = SimulatedSecureProcessor.openOrCreate(config.home.resolve("sim-tee"));
        byte[] hostData = sha256(("bench-" + UUID.randomUUID()).getBytes());
        SimLaunch launch = sim.launch(Arrays.copyOf(sha256("bench-measurement".getBytes()), 48), hostData);
        RSAKey runtime;
        try {
            runtime = new RSAKeyGenerator(2048).keyID("TpmEphemeralEncryptionKey").generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        byte[] runtimeJson = Json.bytes(Map.of("keys", List.of(runtime.toPublicJWK().toJSONObject())));
        byte[] report = launch.report(Arrays.copyOf(sha256(runtimeJson), 64));
        byte[] attestBody = Json.bytes(MaaRequest.body(report, sim.vcekPem() + sim.chainPem(), runtimeJson, null));
        String path;
        byte[] body;
        if (config.mode == Mode.attest) {
            path = "/attest/SevSnpVm";
            body = attestBody;
        } else {
            String token = client.attest(MaaRequest.body(report, sim.vcekPem() + sim.chainPem(), runtimeJson, null));
            String name = "bench-" + UUID.randomUUID().toString().substring(0, 8);
            client.post("/keys/" + name + "/create", Map.of("kty", "oct", "exportable", true, "release_policy",
                    Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", issuer, "allOf", List.of(
                            Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", HexFormat.of().formatHex(hostData))))))));
            path = "/keys/" + name + "/release";
            body = Json.bytes(Map.of("target", token));
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor()).connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(config.url + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        if (config.warmupSeconds > 0) phase(http, request, config, config.warmupSeconds, null);
        Recorder rec = new Recorder(Math.max(1024, (config.rate > 0 ? config.rate : 5000) * config.seconds * 2));
        long t0 = System.nanoTime();
        phase(http, request, config, config.seconds, rec);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        return rec.result(config.mode.name(), elapsed);
    }

    private static void phase(HttpClient http, HttpRequest request, Config config, int seconds, Recorder rec) throws InterruptedException {
        Semaphore inFlight = new Semaphore(config.concurrency);
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long i = 0; ; i++) {
                long due = config.rate > 0 ? start + (long) (i * 1e9 / config.rate) : System.nanoTime();
                if (due >= end) break;
                long wait = due - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                inFlight.acquire();
                long scheduled = config.rate > 0 ? due : System.nanoTime();
                exec.submit(() -> {
                    try {
                        HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
                        if (rec != null) {
                            if (r.statusCode() == 200) rec.ok(System.nanoTime() - scheduled);
                            else rec.error("HTTP " + r.statusCode() + ": " + new String(r.body(), 0, Math.min(300, r.body().length)));
                        }
                    } catch (Exception e) {
                        if (rec != null) rec.error(e.toString());
                    } finally {
                        inFlight.release();
                    }
                });
            }
        }
    }

    private static final class Recorder {
        private final long[] latencies;
        private final AtomicLong count = new AtomicLong();
        private final AtomicLong errors = new AtomicLong();
        private final AtomicReference<String> firstError = new AtomicReference<>();

        Recorder(int capacity) {
            latencies = new long[capacity];
        }

        void ok(long nanos) {
            long i = count.getAndIncrement();
            if (i < latencies.length) latencies[(int) i] = nanos;
        }

        void error(String what) {
            errors.incrementAndGet();
            count.incrementAndGet();
            firstError.compareAndSet(null, what);
        }

        Result result(String mode, double seconds) {
            long n = count.get();
            long okCount = Math.min(n - errors.get(), latencies.length);
            long[] sorted = Arrays.copyOf(latencies, (int) Math.max(0, Math.min(okCount, latencies.length)));
            Arrays.sort(sorted);
            double p50 = sorted.length == 0 ? 0 : sorted[(int) (sorted.length * 0.50)] / 1e6;
            double p99 = sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (sorted.length * 0.99))] / 1e6;
            double max = sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6;
            return new Result(mode, n, errors.get(), seconds, n / seconds, p50, p99, max, firstError.get());
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
