package dev.coffer.server.bench;

import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.http.Json;
import dev.coffer.server.vault.KeySpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The key release path alone, in-process (no HTTP): token verification, policy evaluation,
 * key unsealing, RSA-AES wrapping, response signing and the durable audit append, in µs/op,
 * plus attestation (report verification + token issuance) for comparison. Single-threaded, so
 * the figures are per core. Run: {@code java -cp ... dev.coffer.server.bench.ReleasePathBenchmark [SECONDS]}.
 */
public final class ReleasePathBenchmark {
    private ReleasePathBenchmark() {}

    public record Result(double releaseMicros, double attestMicros, long releases, long attestations) {
        public String summary() {
            return String.format("release path: %.0f µs/op (%d ops); attest path (verify + token): %.0f µs/op (%d ops)",
                    releaseMicros, releases, attestMicros, attestations);
        }
    }

    /** Plain HTTP on loopback: the figures are the release path's CPU cost, not TLS record processing. */
    public static Result run(Path home, double seconds) throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            SimulatedSecureProcessor sim = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
            byte[] hostData = MessageDigest.getInstance("SHA-256").digest("bench".getBytes());
            SimLaunch launch = sim.launch(new byte[48], hostData);
            RSAKey runtime = new RSAKeyGenerator(2048).keyID("TpmEphemeralEncryptionKey").generate();
            byte[] runtimeJson = Json.bytes(Map.of("keys", List.of(runtime.toPublicJWK().toJSONObject())));
            byte[] report = launch.report(Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(runtimeJson), 64));
            String chain = sim.vcekPem() + sim.chainPem();
            List<byte[]> endorsement = List.of(dev.coffer.attest.endorse.EndorsementKey.openOrCreate(
                    dev.coffer.server.AppraisalSettings.homeEndorsementKeyDir(home)).sign("00".repeat(48), 0));
            String token = server.attestation().attest(report, chain, endorsement, runtimeJson, "JSON", null);
            server.vault().create("bench-key", KeySpec.oct256(), true,
                    dev.coffer.server.policy.ReleasePolicies.forCofferGuest(server.issuerName(), HexFormat.of().formatHex(hostData), "sim"), false);

            long[] releases = loop(seconds, () -> server.vault().release("bench-key", null, token, null));
            long[] attests = loop(seconds, () -> server.attestation().attest(report, chain, endorsement, runtimeJson, "JSON", null));
            return new Result(releases[1] / 1e3 / releases[0], attests[1] / 1e3 / attests[0], releases[0], attests[0]);
        }
    }

    /** Warm up for a third of the time, then measure; returns {ops, nanos}. */
    private static long[] loop(double seconds, Runnable op) {
        long warmEnd = System.nanoTime() + (long) (seconds / 3 * 1e9);
        while (System.nanoTime() < warmEnd) op.run();
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long n = 0;
        while (System.nanoTime() < end) {
            op.run();
            n++;
        }
        return new long[] {n, System.nanoTime() - start};
    }

    public static void main(String[] args) throws Exception {
        Path home = Files.createTempDirectory("coffer-release-bench-");
        System.out.println(run(home, args.length > 0 ? Double.parseDouble(args[0]) : 5).summary());
        System.exit(0);
    }
}
