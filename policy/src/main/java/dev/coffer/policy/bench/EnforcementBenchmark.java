package dev.coffer.policy.bench;

import dev.coffer.policy.enforce.Decision;
import dev.coffer.policy.enforce.EnforcementRequest;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.gen.DefaultCapabilities;
import dev.coffer.policy.gen.PolicyDocument;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.RegoPolicyWriter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Decisions per second on the create_container path with a generated policy of the shape the
 * issue names (containers × layers, env rules, mounts). The policy is written by the real
 * generator's writer; layer hashes are synthetic (SHA-256 of "layer-i-j") because hashing is
 * not what is measured. The timed request is the LAST container's create, after its layers and
 * overlay were mounted, so narrowing walks the whole policy.
 */
public final class EnforcementBenchmark {
    /**
     * @param cpuMicrosPerDecision thread CPU time per decision: unlike wall-clock figures it does not
     *                             grow when other processes compete for the cores, so it is the
     *                             figure to compare across runs on a shared machine
     */
    public record Result(int containers, int layers, int envRules, int mounts, long decisions, double seconds,
                         double decisionsPerSecond, double p50Micros, double p99Micros, double cpuMicrosPerDecision,
                         int policyBytes, double loadMillis) {
        public String summary() {
            return String.format(java.util.Locale.ROOT, "create_container: %,.0f decisions/s (wall), p50 %.1f µs, p99 %.1f µs, "
                            + "%.1f µs CPU per decision (= %,.0f decisions/s per core); %d decisions in %.1f s; "
                            + "policy %d containers x %d layers, %d env rules, %d mounts, %,d bytes, loaded in %.1f ms",
                    decisionsPerSecond, p50Micros, p99Micros, cpuMicrosPerDecision, 1e6 / cpuMicrosPerDecision, decisions,
                    seconds, containers, layers, envRules, mounts, policyBytes, loadMillis);
        }
    }

    private EnforcementBenchmark() {}

    /** The benchmark's policy text (deterministic for the given shape). */
    public static String policy(int containers, int layers, int envRules, int mounts) {
        List<PolicyDocument.Container> cs = new ArrayList<>();
        for (int c = 0; c < containers; c++) {
            List<PolicyDocument.EnvRule> env = new ArrayList<>();
            for (int e = 0; e < envRules; e++) {
                env.add(e % 5 == 4
                        ? new PolicyDocument.EnvRule("VAR_" + e + "=[a-z0-9-]{1,64}", "re2", true)
                        : new PolicyDocument.EnvRule("VAR_" + e + "=value-" + c + "-" + e, "string", true));
            }
            List<PolicyDocument.Mount> ms = new ArrayList<>();
            for (int m = 0; m < mounts; m++) {
                ms.add(new PolicyDocument.Mount("/data/" + m, PolicyGenerator.VOLUME_SOURCE_PREFIX + "vol" + m, "bind",
                        List.of("rbind", "rshared", "rw")));
            }
            cs.add(new PolicyDocument.Container("registry.example/app" + c + ":1.0", "app" + c, layerHashes(c, layers),
                    List.of("/bin/app" + c, "--port", "80" + c), env, "/srv", ms,
                    List.of(new PolicyDocument.ExecProcess(List.of("/bin/health"), List.of())), List.of(9, 15),
                    new PolicyDocument.User(new PolicyDocument.IdName("1000", "id"),
                            List.of(new PolicyDocument.IdName("1000", "id")), "0022"),
                    DefaultCapabilities.forContainer(false), "", false, true, true));
        }
        PolicyDocument doc = new PolicyDocument(PolicyGenerator.API_VERSION, PolicyGenerator.FRAMEWORK_VERSION, false, cs,
                List.of(), new PolicyDocument.Flags(true, false, false, false, false, false));
        return RegoPolicyWriter.write(doc);
    }

    static List<String> layerHashes(int container, int layers) {
        List<String> hashes = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            // layer 0 is shared by all containers, like a common base image
            hashes.add(sha256(l == 0 ? "base" : "layer-" + container + "-" + l));
        }
        return hashes;
    }

    /** The create request for container {@code c} of the benchmark policy, as the agent would send it. */
    public static EnforcementRequest.CreateContainer createRequest(String containerId, int c, int envRules, int mounts,
                                                                   EnforcerOptions options) {
        List<String> env = new ArrayList<>();
        for (int e = 0; e < envRules; e++) {
            env.add(e % 5 == 4 ? "VAR_" + e + "=tenant-" + e : "VAR_" + e + "=value-" + c + "-" + e);
        }
        List<EnforcementRequest.Mount> ms = new ArrayList<>();
        for (int m = 0; m < mounts; m++) {
            ms.add(new EnforcementRequest.Mount("/data/" + m, options.sandboxDir() + "/volumes/vol" + m, "bind",
                    List.of("rbind", "rshared", "rw")));
        }
        List<String> caps = DefaultCapabilities.UNPRIVILEGED;
        return new EnforcementRequest.CreateContainer(containerId, List.of("/bin/app" + c, "--port", "80" + c), env, "/srv",
                ms, false, true, new EnforcementRequest.IdName("1000", "app"),
                List.of(new EnforcementRequest.IdName("1000", "app")), "0022",
                new EnforcementRequest.Capabilities(caps, caps, List.of(), caps, List.of()), "", List.of());
    }

    public static Result run(int containers, int layers, int envRules, int mounts, double warmupSeconds,
                             double measureSeconds) {
        String text = policy(containers, layers, envRules, mounts);
        EnforcerOptions options = EnforcerOptions.defaults();
        long t0 = System.nanoTime();
        PolicyEnforcer enforcer = PolicyEnforcer.load(text, options);
        double loadMillis = (System.nanoTime() - t0) / 1e6;

        int target = containers - 1;
        List<String> hashes = layerHashes(target, layers);
        List<String> paths = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            String path = "/run/coffer/layers/l" + l;
            commitOrFail(enforcer, new EnforcementRequest.MountDevice(path, hashes.get(l)));
            paths.addFirst(path);
        }
        commitOrFail(enforcer, new EnforcementRequest.MountOverlay("bench", paths, "/run/coffer/rootfs/bench"));
        EnforcementRequest.CreateContainer create = createRequest("bench", target, envRules, mounts, options);
        Decision check = enforcer.decide(create);
        if (!check.allowed()) {
            throw new IllegalStateException("benchmark request was denied: " + check.reason());
        }
        enforcer.rollback(check);

        long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        while (System.nanoTime() < warmEnd) {
            enforcer.rollback(enforcer.decide(create));
        }
        long[] samples = new long[1 << 16];
        int n = 0;
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpuStart = threads.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long end = start + (long) (measureSeconds * 1e9);
        long now = start;
        while (now < end) {
            long s = System.nanoTime();
            Decision d = enforcer.decide(create);
            now = System.nanoTime();
            enforcer.rollback(d);
            if (n == samples.length) samples = Arrays.copyOf(samples, n * 2);
            samples[n++] = now - s;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuMicros = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e3 / n;
        long[] sorted = Arrays.copyOf(samples, n);
        Arrays.sort(sorted);
        long total = 0;
        for (long v : sorted) total += v;
        return new Result(containers, layers, envRules, mounts, n, seconds, n / (total / 1e9),
                sorted[n / 2] / 1e3, sorted[Math.min(n - 1, (int) (n * 0.99))] / 1e3, cpuMicros,
                text.getBytes(StandardCharsets.UTF_8).length, loadMillis);
    }

    private static void commitOrFail(PolicyEnforcer enforcer, EnforcementRequest request) {
        Decision d = enforcer.decide(request);
        if (!d.allowed()) {
            throw new IllegalStateException("benchmark setup request was denied: " + d.reason());
        }
        enforcer.commit(d);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
