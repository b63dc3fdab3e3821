package dev.coffer.runtime.sandbox;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.spec.GroupSpecParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Makes the process sandbox agent's ahead-of-time cache ({@link AgentAotCache}) from a real agent
 * start: {@code AgentAotTraining CACHE}, run by {@code ./coffer} once per build under the build
 * lock, with the class path the CLI runs with (which is the agent's).
 *
 * <p>The training run is a launch as {@code coffer run} makes one, through
 * {@link ProcessSandboxBackend}: the simulated secure processor measures it and seals its launch
 * context, and the agent checks the seal, signs its startup report, compiles a policy generated
 * by Coffer's generator, probes the OCI runtime and makes the group's network namespace, then
 * answers the requests a group's start sends first (properties, a report, a layer mount and a
 * container create, both refused here since the training group has no layer) and shuts down; its
 * JVM writes the cache at that exit. Nothing of a user's state is touched: the training chip and
 * the group live under the cache's directory (the chip is kept there across builds, since making
 * one costs seconds of RSA key generation).
 *
 * <p>Exit 0 with the cache and its seal in place, 1 without (the reason on stderr): the launcher
 * then records the failure and starts agents normally.
 */
public final class AgentAotTraining {
    private AgentAotTraining() {}

    /** The training group: one container, as the smallest `coffer run` has. */
    static final String SPEC = """
            name: aot-training
            scratch: {allowUnencrypted: true}
            containers:
              - name: training
                image: coffer.training/none:1
                command: [sh, -c, "echo trained"]
            """;

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: AgentAotTraining CACHE (the file the agent's ahead-of-time cache is written to)");
            System.exit(2);
        }
        try {
            train(Path.of(args[0]).toAbsolutePath());
        } catch (IOException | RuntimeException e) {
            System.err.println("coffer: the agent's start-up cache was not made: " + e.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    /** Runs the training launch and seals the cache it made at {@code cache}. */
    static void train(Path cache) throws IOException {
        Path dir = cache.getParent();
        Path work = Files.createTempDirectory(dir, "agent-aot-training-");
        Path made = work.resolve("agent.aot");
        String classpath = AgentClasspath.current();
        try {
            Path policy = work.resolve("policy.rego");
            Files.writeString(policy, trainingPolicy().text(), StandardCharsets.UTF_8);
            SandboxBackend.LaunchRequest request = new SandboxBackend.LaunchRequest("aot-training", work.resolve("group"), "auto",
                    policy.toString(), Map.of(), List.of(), "sim", dir.resolve("agent-aot-training-home").resolve("sim-tee"),
                    null, List.of(), List.of());
            Sandbox sandbox = new ProcessSandboxBackend().launch(request, new AgentAot.Record(made));
            try {
                exercise(sandbox);
                // the JVM writes the cache at its exit, with a second JVM it starts for that: seconds of work
                ProcessHandle.of(sandbox.record().agentPid()).ifPresent(h -> {
                    try {
                        h.onExit().get(300, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        // destroyed below; the cache is then missing and says so
                    }
                });
            } finally {
                sandbox.destroy(0);
            }
            if (!Files.isRegularFile(made) || Files.size(made) == 0) {
                throw new IOException("expected the training agent to write " + made + " at its exit, found none; see "
                        + work.resolve("group").resolve("agent.log"));
            }
            AgentAotCache.seal(made, cache, classpath);
        } finally {
            deleteTree(work);
        }
    }

    /** The requests a group's start sends first; refusals are expected and part of the training. */
    private static void exercise(Sandbox sandbox) throws IOException {
        try (AgentClient client = sandbox.connect()) {
            Duration deadline = Duration.ofSeconds(60);
            List<Request> requests = List.of(new Request.Ping(), new Request.GetProperties(),
                    new Request.GetReport("00".repeat(32)),
                    new Request.MountDevice("/nonexistent/layer.disk", "/nonexistent/target", "0".repeat(64)),
                    new Request.CreateContainer("training", "/nonexistent/rootfs", List.of("sh", "-c", "echo trained"),
                            List.of("PATH=/bin"), "/", "0:0", null, List.of(), null, true, "training"),
                    new Request.ReadDecisionLog(0, 4096));
            for (Request r : requests) client.exchange(r, deadline);
            client.exchange(new Request.ShutdownSandbox(1000), deadline);
        }
    }

    /** The training group's policy, generated by Coffer's generator for an image with one (named, not stored) layer. */
    static GeneratedPolicy trainingPolicy() throws IOException {
        var spec = GroupSpecParser.parse(SPEC, "aot-training.yaml");
        String layer = sha256Hex("coffer agent ahead-of-time training layer");
        return new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(layer), List.of(), List.of("sh"), List.of("PATH=/bin"),
                "/", "")).generate(GroupPolicyInput.of(spec), false);
    }

    private static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    private static void deleteTree(Path root) {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover training directory under target/ is harmless; the next build's clean removes it
        }
    }
}
