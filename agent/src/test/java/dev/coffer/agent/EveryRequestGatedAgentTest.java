package dev.coffer.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import dev.coffer.policy.enforce.EnforcementPoint;
import dev.coffer.policy.gen.DefaultCapabilities;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hostile-host catalogue for the requests that used to reach no policy decision, and for
 * what a decision returns being what runs, against a real agent process running real containers
 * with the host's runc or crun.
 */
class EveryRequestGatedAgentTest {
    private static final List<String> ARGV = List.of("httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www");
    private static final List<String> STATUS = List.of("cat", "/proc/self/status");
    private static final List<String> SYS_KERNEL = List.of("ls", "-A", "/sys/kernel/config", "/sys/kernel/security");
    private static final List<String> SECRET = List.of("sh", "-c", "echo secret-output; echo secret-error >&2; exit 3");

    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void cleanUp() throws Exception {
        AgentProcess.cleanUp(agent, dir);
    }

    private static String spec(boolean stdio) {
        return spec(stdio, true);
    }

    private static String spec(boolean stdio, boolean limits) {
        return """
                name: pod
                containers:
                  - name: web
                    image: coffer.test/busybox:1
                    command: [httpd, -f, -p, "127.0.0.1:8080", -h, /www]
                    env:
                      - name: GREETING
                        value: hi
                    securityContext:
                      allowStdioAccess: %s
                %s
                    execProcesses:
                      - command: [cat, /proc/self/status]
                      - command: [ls, -A, /sys/kernel/config, /sys/kernel/security]
                      - command: [sh, -c, "echo secret-output; echo secret-error >&2; exit 3"]
                # this host has no device-mapper, so the process sandbox's scratch is unencrypted: said here, not assumed
                scratch: {allowUnencrypted: true}
                """.formatted(stdio, limits ? "    resources:\n      limits: {memory: 64Mi, pids: 64}" : "");
    }

    private static String policy(LayerDisk layer, boolean stdio) throws Exception {
        return policy(layer, stdio, true);
    }

    private static String policy(LayerDisk layer, boolean stdio, boolean limits) throws Exception {
        PolicyGenerator generator = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(layer.rootHash()), List.of(),
                List.of("sh"), List.of("PATH=/bin"), "/", ""));
        return generator.generate(GroupPolicyInput.parse(spec(stdio, limits), "pod.yaml"), false).text();
    }

    /** crun on a host with cgroup v1 controllers runs without cgroups (see OciRuntime): it cannot apply limits. */
    private static boolean crunRunsWithoutCgroups(String runtime) throws Exception {
        if (!runtime.equals("crun")) return false;
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[1].equals("/sys/fs/cgroup")) return !f[2].equals("cgroup2");
        }
        return true;
    }

    private AgentClient launch(String policyText, String... extra) throws Exception {
        Path file = dir.resolve("policy.rego");
        Files.writeString(file, policyText);
        List<String> args = new ArrayList<>(List.of("--policy", file.toString(), "--host-data", GeneratedPolicy.sha256Hex(policyText)));
        // the layer disk the runtime prepared (BusyboxRootfs.disk under layers/): the only mount_device source allowed
        args.addAll(List.of("--layer-disk", dir.resolve("layers/busybox.disk").toAbsolutePath().toString()));
        args.addAll(List.of(extra));
        agent = AgentProcess.start(dir, "pod", args.toArray(String[]::new));
        return agent.client();
    }

    private Path mountWeb(AgentClient c, LayerDisk layer) throws Exception {
        String l0 = agent.state.resolve("devices/l0").toString();
        Path rootfs = agent.state.resolve("containers/web/rootfs");
        c.call(new Request.MountDevice(layer.file().toString(), l0, layer.rootHash()), Result.Done.class);
        agent.unencryptedScratch(c);
        c.call(new Request.MountOverlay("web", List.of(l0), rootfs.toString()), Result.Done.class);
        return rootfs;
    }

    private static Request.CreateContainer create(Path rootfs, List<String> env, List<String> caps) {
        return new Request.CreateContainer("web", rootfs.toString(), ARGV, env, "/", null, null, List.of(), caps, true, "pod");
    }

    private static void assertDenied(Response r, String point, String field) {
        assertFalse(r.ok(), "expected " + point + " refused, found success");
        assertEquals(Response.Failure.DENIED, r.error().code(), r.error().reason());
        assertTrue(r.error().reason().startsWith(point + " denied"), r.error().reason());
        assertTrue(r.error().reason().contains(field), "expected the field " + field + " named in: " + r.error().reason());
    }

    private static Result.ContainerStatus web(AgentClient c) throws Exception {
        return c.call(new Request.GetProperties(), Result.Properties.class).containers().stream()
                .filter(s -> s.containerID().equals("web")).findFirst().orElseThrow();
    }

    @Test
    void formerlyUngatedRequestsAreJudgedAndRefusalsChangeNothing() throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        try (AgentClient c = launch(policy(layer, false))) {
            Path rootfs = mountWeb(c, layer);
            // start, wait and logs of a container whose create was never committed
            assertDenied(c.exchange(new Request.StartContainer("web")), "start_container", "containerID");
            assertDenied(c.exchange(new Request.WaitContainer("web", 0)), "wait_container", "containerID");
            assertDenied(c.exchange(new Request.ReadLogs("web", 0, 1024)), "read_logs", "containerID");
            assertEquals("mounted", web(c).state(), "a refused start ran nothing");

            c.call(create(rootfs, List.of("PATH=/bin", "GREETING=hi"), null), Result.ContainerStatus.class);
            assertEquals("running", c.call(new Request.StartContainer("web"), Result.ContainerStatus.class).state());
            // started once; the agent's own state check never sees the second start: the policy refuses it first
            assertDenied(c.exchange(new Request.StartContainer("web")), "start_container", "containerID");

            // stdio: the committed create said allow_stdio_access false
            assertDenied(c.exchange(new Request.ReadLogs("web", 0, 1024)), "read_logs", "allow_stdio_access");
            Result.ExecResult exec = c.call(new Request.ExecInContainer("web", SECRET, List.of(), null, 10_000), Result.ExecResult.class);
            assertEquals(3, exec.exitCode(), "the process runs");
            assertEquals("", exec.stdout(), "stdout must not reach the host without stdio access");
            assertEquals("", exec.stderr(), "stderr must not reach the host without stdio access");

            // the decision log is runtime logging, which the policy does not allow
            assertDenied(c.exchange(new Request.ReadDecisionLog(0, 1024)), "read_decision_log", "allow_runtime_logging");
            assertEquals("running", c.call(new Request.WaitContainer("web", 0), Result.ContainerStatus.class).state());
        }
        // every one of them is in the decision log under its own name
        List<String> log = Files.readAllLines(agent.state.resolve(AgentMain.DECISION_LOG));
        for (String point : List.of("start_container", "wait_container", "read_logs", "read_decision_log", "exec_in_container")) {
            assertTrue(log.stream().anyMatch(l -> l.contains("\"rule\":\"" + point + "\"")), point + " missing from the decision log");
        }
    }

    @Test
    void aPolicyCanRefuseReportsAndShutdown() throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        String strict = policy(layer, true)
                .replace("get_report := data.framework.get_report", "get_report := {\"allowed\": false}")
                .replace("shutdown_sandbox := data.framework.shutdown_sandbox", "shutdown_sandbox := {\"allowed\": false}");
        try (AgentClient c = launch(strict)) {
            assertDenied(c.exchange(new Request.GetReport(HexFormat.of().formatHex(new byte[16]))), "get_report", "get_report");
            assertDenied(c.exchange(new Request.ShutdownSandbox(1000)), "shutdown_sandbox", "shutdown_sandbox");
            // the refused shutdown changed nothing: the agent still serves
            assertInstanceOf(Result.Done.class, c.exchange(new Request.Ping()).result());
            assertTrue(agent.process.isAlive());
        }
    }

    /** Limits the runtime would ignore are refused before anything runs. */
    @Test
    void limitsTheRuntimeCannotApplyAreRefused() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/crun")) && crunRunsWithoutCgroups("crun"),
                "needs crun on a host with cgroup v1 controllers");
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        try (AgentClient c = launch(policy(layer, true), "--runtime", "crun")) {
            Path rootfs = mountWeb(c, layer);
            Response refused = c.exchange(create(rootfs, List.of("PATH=/bin", "GREETING=hi"), null));
            assertFalse(refused.ok());
            assertTrue(refused.error().reason().contains("policy's limits"), refused.error().reason());
            assertFalse(Files.exists(agent.state.resolve("containers/web/bundle/config.json")), "no bundle written");
            // the refusal was rolled back: the policy still has the container to create
            assertDenied(c.exchange(new Request.StartContainer("web")), "start_container", "containerID");
        }
    }

    @Test
    void everyWireRequestIsAnEnforcementPoint() {
        for (var e : Request.wireNames().entrySet()) {
            assertTrue(e.getValue().equals("ping") || EnforcementPoint.named(e.getValue()) != null, e.toString());
        }
        assertEquals(21, Request.wireNames().size());
    }

    /** A cgroup file of a process: from the v1 hierarchy of {@code controller}, or the unified one. */
    private static String cgroupValue(long pid, String controller, String file) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            String[] f = line.split(":", 3);
            Path dir = null;
            if (List.of(f[1].split(",")).contains(controller)) {
                dir = Path.of("/sys/fs/cgroup", controller, f[2]);
            } else if (f[0].equals("0") && f[1].isEmpty()) {
                for (String root : List.of("/sys/fs/cgroup/unified", "/sys/fs/cgroup")) {
                    if (Files.exists(Path.of(root, f[2], file))) dir = Path.of(root, f[2]);
                }
            }
            if (dir != null && Files.exists(dir.resolve(file))) return Files.readString(dir.resolve(file)).strip();
        }
        return "no " + file + " for " + Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"));
    }

    /**
     * Under allow_capability_dropping and allow_environment_variable_dropping, what the host adds is
     * dropped: the bundle gets the decision's five capability sets and environment. The container
     * runs with the runtime-default seccomp filter and masked kernel interfaces.
     */
    @ParameterizedTest
    @ValueSource(strings = {"runc", "crun"})
    void theDecisionIsWhatRunsAndTheContainerIsConfined(String runtime) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/" + runtime)), runtime + " is not installed");
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        boolean limits = !crunRunsWithoutCgroups(runtime);
        String dropping = policy(layer, true, limits)
                .replace("allow_capability_dropping := false", "allow_capability_dropping := true")
                .replace("allow_environment_variable_dropping := false", "allow_environment_variable_dropping := true");
        assertTrue(dropping.contains("allow_capability_dropping := true"));
        List<String> hostCaps = new ArrayList<>(DefaultCapabilities.UNPRIVILEGED);
        hostCaps.add("CAP_SYS_ADMIN");
        try (AgentClient c = launch(dropping, "--runtime", runtime)) {
            Path rootfs = mountWeb(c, layer);
            c.call(create(rootfs, List.of("PATH=/bin", "GREETING=hi", "LD_PRELOAD=/tmp/evil.so"), hostCaps),
                    Result.ContainerStatus.class);
            JsonNode config = new ObjectMapper().readTree(agent.state.resolve("containers/web/bundle/config.json").toFile());
            JsonNode caps = config.path("process").path("capabilities");
            for (String set : List.of("bounding", "effective", "permitted")) {
                List<String> got = new ArrayList<>();
                caps.path(set).forEach(n -> got.add(n.asText()));
                assertEquals(DefaultCapabilities.UNPRIVILEGED, got, set + ": the decision's caps_list, not the host's");
            }
            assertEquals(0, caps.path("inheritable").size());
            assertEquals(0, caps.path("ambient").size());
            List<String> env = new ArrayList<>();
            config.path("process").path("env").forEach(n -> env.add(n.asText()));
            assertEquals(List.of("PATH=/bin", "GREETING=hi"), env, "the decision's env_list, not the host's");
            List<String> masked = new ArrayList<>();
            config.path("linux").path("maskedPaths").forEach(n -> masked.add(n.asText()));
            assertTrue(masked.containsAll(List.of("/sys/kernel/config", "/sys/kernel/security")), masked.toString());
            assertEquals("SCMP_ACT_ERRNO", config.path("linux").path("seccomp").path("defaultAction").asText());

            JsonNode resources = config.path("linux").path("resources");
            long pid = c.call(new Request.StartContainer("web"), Result.ContainerStatus.class).pid();
            if (limits) {
                assertEquals(64L << 20, resources.path("memory").path("limit").asLong(), "the policy's memory limit: " + resources);
                assertEquals(64, resources.path("pids").path("limit").asLong(), "the policy's pids limit: " + resources);
                assertEquals("64", cgroupValue(pid, "pids", "pids.max"), "pids limit applied by " + runtime);
                String memory = cgroupValue(pid, "memory", "memory.limit_in_bytes");
                if (memory.startsWith("no ")) memory = cgroupValue(pid, "memory", "memory.max");
                assertEquals(Long.toString(64L << 20), memory, "memory limit applied by " + runtime);
            }
            Result.ExecResult status = c.call(new Request.ExecInContainer("web", STATUS, List.of(), null, 10_000), Result.ExecResult.class);
            assertEquals(0, status.exitCode(), status.stderr());
            assertTrue(status.stdout().contains("Seccomp:\t2"), "expected the seccomp filter (Seccomp: 2):\n" + status.stdout());
            long bounding = Long.parseLong(status.stdout().lines().filter(l -> l.startsWith("CapBnd:")).findFirst().orElseThrow()
                    .substring("CapBnd:".length()).strip(), 16);
            assertEquals(0, bounding & (1L << 21), "CAP_SYS_ADMIN (21) must not be in the container's bounding set");
            Result.ExecResult sys = c.call(new Request.ExecInContainer("web", SYS_KERNEL, List.of(), null, 10_000), Result.ExecResult.class);
            assertEquals("", sys.stdout().replace("/sys/kernel/security:", "").replace("/sys/kernel/config:", "").strip(),
                    "the container sees nothing under /sys/kernel/config or /sys/kernel/security: " + sys.stdout() + sys.stderr());
            // the honest exec's output does come back: this container allows stdio access
            Result.ExecResult secret = c.call(new Request.ExecInContainer("web", SECRET, List.of(), null, 10_000), Result.ExecResult.class);
            assertEquals("secret-output\n", secret.stdout());
        }
        String log = Files.readString(agent.state.resolve(AgentMain.DECISION_LOG), StandardCharsets.UTF_8);
        assertTrue(log.contains("CAP_SYS_ADMIN"), "the host's request is logged as it was judged");
    }
}
