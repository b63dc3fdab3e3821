package dev.coffer.shim.task;

import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.policy.GroupPolicies;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The shim under a real containerd (Debian's package): the test starts a private containerd (its
 * own root, state and socket under a temp directory), imports the busybox test image into it and
 * into a Coffer home, and runs containers with {@code ctr run --runtime io.containerd.coffer.v2},
 * the shim found on containerd's PATH.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerdShimTest {
    static final String IMAGE = "coffer.test/busybox:1";
    static final String NS = "coffer-test";
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "ls", "id", "env", "true", "false");
    static final long BOUND_S = 120;

    Path work;
    Path home;
    Path socket;
    Path logs;
    Process containerd;

    @BeforeAll
    void startContainerd() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/containerd")) && Files.isExecutable(Path.of("/usr/bin/ctr")),
                "needs Debian's containerd package (apt-get install containerd)");
        assumeTrue("root".equals(System.getProperty("user.name")), "containerd and the process sandbox need root");
        work = Files.createTempDirectory(Path.of("/tmp"), "shim");
        home = Files.createDirectories(work.resolve("home"));
        logs = Files.createDirectories(work.resolve("logs"));
        socket = work.resolve("c.sock");
        Path bin = Files.createDirectories(work.resolve("bin"));
        // the shim on containerd's PATH: the module's launcher with this test's class path
        Path launcher = Path.of("src/main/sh/containerd-shim-coffer-v2").toAbsolutePath();
        Files.copy(launcher, bin.resolve("containerd-shim-coffer-v2"));
        Files.setPosixFilePermissions(bin.resolve("containerd-shim-coffer-v2"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(bin.resolve("coffer-shim.classpath"), System.getProperty("java.class.path"));

        Path layout = importBusybox(home, work);
        Path tar = work.resolve("busybox.tar");
        run(List.of("tar", "-C", layout.toString(), "-cf", tar.toString(), "."), null);

        Path config = work.resolve("config.toml");
        Files.writeString(config, """
                version = 2
                root = "%s"
                state = "%s"
                disabled_plugins = ["io.containerd.grpc.v1.cri"]
                [grpc]
                  address = "%s"
                [ttrpc]
                  address = "%s"
                """.formatted(work.resolve("root"), work.resolve("state"), socket, work.resolve("c.sock.ttrpc")));
        ProcessBuilder pb = new ProcessBuilder("containerd", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("containerd.log").toFile());
        Map<String, String> env = pb.environment();
        env.put("PATH", bin + ":" + env.getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
        env.put("COFFER_HOME", home.toString());
        env.put("COFFER_SHIM_LOG_DIR", logs.toString());
        // the process sandbox cannot encrypt scratch without device-mapper: allowed explicitly where the host has none
        if (dev.coffer.runtime.group.Isolation.encryptedScratchUnavailable("process") != null) {
            env.put("COFFER_SHIM_ALLOW_UNENCRYPTED_SCRATCH", "true");
        }
        env.put("COFFER_JAVA", ProcessHandle.current().info().command().orElseThrow());
        containerd = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (ctr("version").exit() != 0) {
            assertTrue(containerd.isAlive(), "containerd exited: " + Files.readString(work.resolve("containerd.log")));
            assertTrue(System.nanoTime() < deadline, "containerd did not answer within " + BOUND_S + " s");
            Thread.sleep(100);
        }
        Result imported = ctr("images", "import", tar.toString());
        assertEquals(0, imported.exit(), imported.output());
        Result images = ctr("images", "ls", "-q");
        assertTrue(images.output().contains(IMAGE), images.output());
    }

    @AfterAll
    void stopContainerd() throws Exception {
        if (containerd != null) {
            containerd.destroy();
            if (!containerd.waitFor(30, TimeUnit.SECONDS)) containerd.destroyForcibly().waitFor();
        }
        if (work != null && new GroupManager(home).list().isEmpty()) run(List.of("rm", "-rf", work.toString()), null);
    }

    @Test
    void runsAContainerPublishesItsEventsInOrderAndLeavesNothingAfterRm() throws Exception {
        Path eventLog = work.resolve("events-hello.txt");
        Process events = new ProcessBuilder("ctr", "-a", socket.toString(), "-n", NS, "events").redirectErrorStream(true)
                .redirectOutput(eventLog.toFile()).start();
        long t0 = System.nanoTime();
        Result r = ctr("run", "--rm", "--snapshotter", "native", "--runtime", "io.containerd.coffer.v2",
                "--annotation", BundleConfig.IMAGE_ANNOTATION + "=" + IMAGE,
                IMAGE, "hello", "sh", "-c", "echo hello from coffer; echo uid=$(id -u); exit 3");
        assertEquals(3, r.exit(), r.output() + shimLogs());
        assertTrue(r.output().contains("hello from coffer\nuid=0"), r.output() + shimLogs());
        System.out.printf("ctr run --rm through the Coffer shim: %d ms (shim start, group launch, container, removal)%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        assertNothingLeft("hello");
        // the shim publishes TaskDelete before it exits, and it has exited: every event is in containerd
        events.destroy();
        events.waitFor(30, TimeUnit.SECONDS);
        List<String> topics = Files.readAllLines(eventLog).stream().filter(l -> l.contains("\"container_id\":\"hello\""))
                .map(l -> l.split(" ")[5]).filter(t -> t.startsWith("/tasks/")).toList();
        assertEquals(List.of("/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"), topics,
                Files.readString(eventLog));
        assertTrue(Files.readString(eventLog).contains("\"exit_status\":3"), Files.readString(eventLog));
    }

    @Test
    void detachedTaskIsListedKilledAndRemoved() throws Exception {
        Result r = ctr("run", "-d", "--snapshotter", "native", "--runtime", "io.containerd.coffer.v2",
                "--annotation", BundleConfig.IMAGE_ANNOTATION + "=" + IMAGE, IMAGE, "sleeper", "sleep", "1000");
        assertEquals(0, r.exit(), r.output() + shimLogs());
        Result ls = ctr("tasks", "ls");
        assertTrue(ls.output().matches("(?s).*sleeper\\s+[1-9][0-9]*\\s+RUNNING.*"), ls.output());
        Result ps = ctr("tasks", "ps", "sleeper");
        assertEquals(0, ps.exit(), ps.output());
        assertTrue(ps.output().lines().skip(1).anyMatch(l -> l.strip().matches("[1-9][0-9]*.*")), ps.output());
        Result kill = ctr("tasks", "kill", "-s", "SIGKILL", "sleeper");
        assertEquals(0, kill.exit(), kill.output() + shimLogs());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (!ctr("tasks", "ls").output().matches("(?s).*sleeper\\s+\\S+\\s+STOPPED.*")) {
            assertTrue(System.nanoTime() < deadline, "task not stopped after SIGKILL" + shimLogs());
            Thread.sleep(200);
        }
        Result rm = ctr("tasks", "rm", "sleeper");
        // ctr reports the exit status the shim's Delete returned: 128 + SIGKILL
        assertEquals(0, rm.exit(), rm.output() + shimLogs());
        assertTrue(rm.output().contains("exit code 137"), rm.output());
        assertEquals(0, ctr("containers", "rm", "sleeper").exit());
        assertNothingLeft("sleeper");
    }

    @Test
    void containerThePolicyDoesNotAllowIsRefusedWithTheAgentsReason() throws Exception {
        String policy = policyFor("""
                name: allowed
                scratch: {allowUnencrypted: true}
                containers:
                  - name: main
                    image: coffer.test/busybox:1
                    command: [echo, only this]
                """);
        Result r = ctr("run", "--rm", "--snapshotter", "native", "--runtime", "io.containerd.coffer.v2",
                "--annotation", BundleConfig.IMAGE_ANNOTATION + "=" + IMAGE,
                "--annotation", BundleConfig.POLICY_ANNOTATION + "=" + Base64.getEncoder().encodeToString(policy.getBytes(StandardCharsets.UTF_8)),
                IMAGE, "refused", "sh", "-c", "cat /etc/passwd");
        System.out.println("ctr run of a container the policy does not allow:\n" + r.output());
        assertNotEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("denied"), r.output() + shimLogs());
        assertTrue(!r.output().contains("root:x:0:0"), "the refused command must not have run: " + r.output());
        ctr("containers", "rm", "refused");
        assertNothingLeft("refused");
    }

    @Test
    void taskWithoutAnImageReferenceIsRefusedAtCreate() throws Exception {
        Result r = ctr("run", "--rm", "--snapshotter", "native", "--runtime", "io.containerd.coffer.v2", IMAGE, "noref", "true");
        assertNotEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("expected the image reference in annotation io.kubernetes.cri.image-name"), r.output() + shimLogs());
        ctr("containers", "rm", "noref");
        assertNothingLeft("noref");
    }

    /** `ctr run -d` of {@code id} (sleep 1000) under the policy of a spec with {@code extra} appended. */
    private void runSleeper(String id, String extra) throws Exception {
        String policy = policyFor("""
                name: %s
                scratch: {allowUnencrypted: true}
                containers:
                  - name: main
                    image: coffer.test/busybox:1
                    command: [sleep, "1000"]
                    execProcesses:
                      - command: [sh]
                      - command: [sleep, "900"]
                        signals: [9]
                """.formatted(id) + extra);
        Result r = ctr("run", "-d", "--snapshotter", "native", "--runtime", "io.containerd.coffer.v2",
                "--annotation", BundleConfig.IMAGE_ANNOTATION + "=" + IMAGE,
                "--annotation", BundleConfig.POLICY_ANNOTATION + "=" + Base64.getEncoder().encodeToString(policy.getBytes(StandardCharsets.UTF_8)),
                IMAGE, id, "sleep", "1000");
        assertEquals(0, r.exit(), r.output() + shimLogs());
    }

    private void removeSleeper(String id) throws Exception {
        ctr("tasks", "kill", "-s", "SIGKILL", id);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (!ctr("tasks", "ls").output().matches("(?s).*" + id + "\\s+\\S+\\s+STOPPED.*")) {
            assertTrue(System.nanoTime() < deadline, "task not stopped after SIGKILL" + shimLogs());
            Thread.sleep(200);
        }
        ctr("tasks", "rm", id);
        ctr("containers", "rm", id);
        assertNothingLeft(id);
    }

    /** `ctr task exec` with {@code stdin} piped into it (ctr always passes a stdin FIFO). */
    private Result execWithStdin(String id, String execId, String stdin, String... argv) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ctr", "-a", socket.toString(), "-n", NS, "tasks", "exec", "--exec-id", execId, id));
        cmd.addAll(List.of(argv));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(BOUND_S, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish within " + BOUND_S + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void execRelaysStdinWhereThePolicyAllowsItAndKillEndsAnExec() throws Exception {
        runSleeper("interactive", "stdin: {allow: true}\n");
        Result sh = execWithStdin("interactive", "e1", "name=coffer\necho hello $name\necho to-stderr >&2\nexit 6\n", "sh");
        assertEquals(6, sh.exit(), sh.output() + shimLogs());
        assertTrue(sh.output().contains("hello coffer"), sh.output());
        assertTrue(sh.output().contains("to-stderr"), sh.output());

        // Kill on an exec id: the exec's signal is judged by the policy (sleep 900 may get SIGKILL) and ends it
        Process sleeper = new ProcessBuilder("ctr", "-a", socket.toString(), "-n", NS, "tasks", "exec", "--exec-id", "e2",
                "interactive", "sleep", "900").redirectErrorStream(true).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        Result kill;
        do {
            Thread.sleep(300);
            kill = ctr("tasks", "kill", "--exec-id", "e2", "-s", "SIGKILL", "interactive");
            assertTrue(System.nanoTime() < deadline, "exec e2 was not killed: " + kill.output() + shimLogs());
        } while (kill.exit() != 0);
        assertTrue(sleeper.waitFor(BOUND_S, TimeUnit.SECONDS), "the killed exec's ctr did not return");
        assertEquals(137, sleeper.exitValue(), new String(sleeper.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        removeSleeper("interactive");
    }

    @Test
    void execWithStdinIsRefusedWhereThePolicyDoesNotAllowIt() throws Exception {
        runSleeper("nostdin", "");
        Result sh = execWithStdin("nostdin", "e1", "cat /etc/passwd\n", "sh");
        assertNotEquals(0, sh.exit(), sh.output());
        assertTrue(sh.output().contains("allow_stdin"), sh.output() + shimLogs());
        assertTrue(!sh.output().contains("root:x:0:0"), "the refused exec must not have run: " + sh.output());
        removeSleeper("nostdin");
    }

    /** The policy Coffer generates for a group spec, as `coffer policy gen` would write it. */
    private String policyFor(String yaml) throws Exception {
        var spec = GroupSpecParser.parse(yaml, "allowed.yaml");
        Map<String, LocalImage> images = new LinkedHashMap<>();
        Map<String, LayerDisk> disks = new LinkedHashMap<>();
        try (ImageStore store = ImageStore.open(home)) {
            LocalImage image = store.resolve(IMAGE);
            images.put("main", image);
            LayerDiskCache cache = new LayerDiskCache(home.resolve("layers"));
            for (LayerBlob layer : image.layers()) {
                disks.put(layer.diffId().hex(), cache.getOrBuild("sha256:" + layer.diffId().hex(), () -> store.openLayer(layer)));
            }
        }
        return GroupPolicies.generate(spec, images, disks, false).text();
    }

    @Test
    void shimKilledUnderARunningTaskIsCleanedUpByTheDeleteCommand() throws Exception {
        Result r = ctr("run", "-d", "--snapshotter", "native", "--runtime", "io.containerd.coffer.v2",
                "--annotation", BundleConfig.IMAGE_ANNOTATION + "=" + IMAGE, IMAGE, "orphan", "sleep", "1000");
        assertEquals(0, r.exit(), r.output() + shimLogs());
        assertEquals(1, new GroupManager(home).list().size());
        List<ProcessHandle> shims = ProcessHandle.allProcesses().filter(p -> cmdline(p).contains("dev.coffer.shim.ShimMain")
                && cmdline(p).contains(socket.toString()) && cmdline(p).contains("orphan")).toList();
        assertEquals(1, shims.size(), "one shim daemon for the task");
        // the shim dies without a word: containerd notices the closed connection and runs `delete`
        shims.getFirst().destroyForcibly();
        shims.getFirst().onExit().get(BOUND_S, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (!new GroupManager(home).list().isEmpty() || ctr("tasks", "ls", "-q").output().contains("orphan")) {
            assertTrue(System.nanoTime() < deadline, "the dead shim's group or task was not cleaned up"
                    + Files.readString(work.resolve("containerd.log")));
            Thread.sleep(200);
        }
        assertEquals(0, ctr("containers", "rm", "orphan").exit());
        assertNothingLeft("orphan");
    }

    private void assertNothingLeft(String id) throws Exception {
        assertEquals(List.of(), new GroupManager(home).list(), "no Coffer group left");
        // nor any process of the group (the agent runs with the Coffer home in its arguments)
        List<String> strays = ProcessHandle.allProcesses().filter(p -> String.join(" ", cmdline(p)).contains(home.toString()))
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList();
        assertEquals(List.of(), strays, "processes of the Coffer home left");
        Result tasks = ctr("tasks", "ls", "-q");
        assertTrue(!tasks.output().contains(id), tasks.output());
        Result containers = ctr("containers", "ls", "-q");
        assertTrue(!containers.output().contains(id), containers.output());
        // the shim daemon exits after containerd's Shutdown; bounded wait for the process to be gone
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (shimProcesses() > 0) {
            assertTrue(System.nanoTime() < deadline, "a shim process is still running" + shimLogs());
            Thread.sleep(100);
        }
        try (var left = Files.list(home.resolve("shim-policies").getParent())) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().equals("shim-policies") && hasFiles(p)), "policy files left");
        }
    }

    private static boolean hasFiles(Path dir) {
        try (var s = Files.list(dir)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            return false;
        }
    }

    private long shimProcesses() {
        return ProcessHandle.allProcesses().filter(p -> cmdline(p).contains("dev.coffer.shim.ShimMain")
                && cmdline(p).contains(socket.toString())).count();
    }

    /**
     * A process's arguments from /proc/PID/cmdline (empty once it exited). ProcessHandle.Info
     * gives none for the shim's long command line (the test class path), so it cannot be used.
     */
    static List<String> cmdline(ProcessHandle p) {
        try {
            return List.of(Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"), StandardCharsets.ISO_8859_1).split("\0"));
        } catch (IOException e) {
            return List.of();
        }
    }

    private String shimLogs() throws IOException {
        StringBuilder b = new StringBuilder("\n--- shim logs ---\n");
        try (var files = Files.list(logs)) {
            for (Path p : files.toList()) b.append(Files.readString(p));
        }
        return b.toString();
    }

    record Result(int exit, String output) {}

    private Result ctr(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ctr", "-a", socket.toString(), "-n", NS));
        cmd.addAll(List.of(args));
        return run(cmd, null);
    }

    private static Result run(List<String> cmd, Path dir) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        if (dir != null) pb.directory(dir.toFile());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(BOUND_S, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish within " + BOUND_S + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** busybox-static in one layer, as the runtime module's TestImages builds it; returns the OCI layout. */
    static Path importBusybox(Path home, Path work) throws Exception {
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer base = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755);
        for (String a : APPLETS) base.symlink("bin/" + a, "busybox");
        base.dir("proc").dir("sys").dir("dev").dir("tmp", 01777).dir("etc");
        TarLayer content = new TarLayer().file("etc/passwd", "root:x:0:0:root:/:/bin/sh\n", 0644)
                .file("etc/group", "root:x:0:\n", 0644);
        Path layout = new ImageBuilder().layer(base).layer(content)
                .config(ImageConfig.of(List.of("sh", "-c", "echo image default cmd")))
                .writeLayout(Files.createDirectories(work.resolve("layout")), IMAGE);
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(layout);
        }
        return layout;
    }
}
