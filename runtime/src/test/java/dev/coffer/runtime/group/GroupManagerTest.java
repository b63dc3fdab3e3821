package dev.coffer.runtime.group;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentDeadlines;
import dev.coffer.agent.protocol.Result;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real groups: the agent as a separate JVM, real runc/crun containers from imported OCI images. */
class GroupManagerTest {
    static final String POD = """
            name: %s
            containers:
              - name: server
                image: coffer.test/busybox:1
                command: [httpd, -f, -p, "127.0.0.1:8080", -h, /www]
              - name: client
                image: coffer.test/busybox:1
                command: [sh, -c]
                args:
                  - |
                    for i in $(seq 1 50); do wget -q -O /shared/page http://127.0.0.1:8080/index.html && break; sleep 0.2; done
                    cat /shared/page; echo "mode=$MODE cwd=$(pwd)"; exit 3
                env:
                  - name: MODE
                    value: test
                volumeMounts:
                  - name: shared
                    mountPath: /shared
            volumes:
              - name: shared
                emptyDir: {}
            # a test about groups, not scratch: where the host has no device-mapper (this one), the process
            # sandbox cannot encrypt scratch, and the spec must say plaintext scratch is acceptable
            scratch: {allowUnencrypted: true}
            """;

    @TempDir
    Path home;
    @TempDir
    Path work;
    GroupManager groups;
    final List<String> started = new ArrayList<>();

    /** For tests that silence an agent on purpose: the stop's ping probe gives up after 10 s (the default is a minute). */
    static final AgentDeadlines SILENT_AGENT_DEADLINES = new AgentDeadlines(java.time.Duration.ofSeconds(10),
            AgentDeadlines.DEFAULT.action(), AgentDeadlines.DEFAULT.longest());

    @BeforeEach
    void setUp() throws Exception {
        TestImages.importBusybox(home, work);
        groups = new GroupManager(home);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (String name : started) {
            try {
                groups.stop(name, Duration.ofSeconds(1));
            } catch (Exception ignored) {
                // the test may already have removed it
            }
        }
        assertEquals(List.of(), Mounts.mountedUnder(home), "mounts left behind");
    }

    private GroupHandle run(String name) throws Exception {
        GroupSpec spec = GroupSpecParser.parse(POD.formatted(name), "pod.yaml");
        started.add(name);
        return groups.run(spec, RunOptions.defaults());
    }

    @Test
    void twoContainersTalkOverLocalhostThenStopLeavesNothingBehind() throws Exception {
        GroupHandle g = run("pod");
        assertTrue(g.isolationNotice().contains("isolates nothing"), g.isolationNotice());
        assertTrue(g.ociRuntime().startsWith("runc") || g.ociRuntime().startsWith("crun"), g.ociRuntime());
        // RunOptions.defaults() generates the group's policy: the agent enforces it, not allow-all
        assertTrue(g.enforcer().startsWith("policy sha256:"), g.enforcer());
        // the scratch is what this host can make, and the record says which, never more
        String cannotEncrypt = dev.coffer.agent.volume.ScratchVolume.fileUnavailableReason();
        ScratchRecord scratch = groups.scratch("pod");
        assertEquals(new ScratchRecord(cannotEncrypt == null, cannotEncrypt), scratch);
        assertEquals(cannotEncrypt == null, !scratch.describe().startsWith("UNENCRYPTED"), scratch.describe());

        ContainerRecord client = g.waitFor("client", Duration.ofSeconds(60));
        assertEquals(3, client.exitCode());
        String log = g.logs("client");
        assertTrue(log.contains("hello from the server"), log);
        // the spec's command ignores the image's Cmd; workingDir comes from the image config
        assertTrue(log.contains("mode=test cwd=/www"), log);

        // the spec lists no exec processes, so the generated policy allows none: denied, explained
        GroupException denied = assertThrows(GroupException.class, () -> g.exec("server",
                List.of("sh", "-c", "cat /www/index.html; hostname; exit 4"), Duration.ofSeconds(20)));
        assertTrue(denied.getMessage().contains("exec_in_container denied")
                && denied.getMessage().contains("closest policy container: \"server\""), denied.getMessage());

        GroupStatus ps = groups.status("pod");
        assertEquals("running", ps.status());
        assertTrue(ps.agentAlive());
        assertEquals("running", ps.containers().get(0).state());
        assertEquals(3, ps.containers().get(1).exitCode());

        List<String> lines = new ArrayList<>();
        groups.logs("pod", null, false, lines::add);
        assertTrue(lines.contains("[client] hello from the server"), lines.toString());

        Path dir = groups.groupDir("pod");
        assertFalse(Mounts.mountedUnder(dir).isEmpty());
        long serverPid = ps.containers().get(0).pid();
        assertTrue(ProcessHandle.of(serverPid).isPresent());
        GroupManager.StopOutcome stop = groups.stop("pod", Duration.ofSeconds(2));
        assertFalse(stop.alreadyStopped());
        // httpd is PID 1 of its namespace without a SIGTERM handler, so the kernel ignores
        // SIGTERM and the grace period ends in SIGKILL
        assertEquals(137, stop.containers().get(0).exitCode());
        assertEquals(3, stop.containers().get(1).exitCode());
        assertTrue(gone(serverPid), "the server survived stop");
        assertEquals(List.of(), Mounts.mountedUnder(dir));
        assertEquals(List.of(), processesUnder(dir));
        assertFalse(Files.exists(dir.resolve("sandbox/containers")), "overlay directories left behind");
        assertFalse(Files.exists(dir.resolve("sandbox/volumes")));
        assertEquals("stopped", groups.status("pod").status());
        // logs survive the stop
        assertTrue(groups.readLog("pod", "client").contains("hello from the server"));

        GroupManager.StopOutcome again = groups.stop("pod", Duration.ofSeconds(1));
        assertTrue(again.alreadyStopped());

        GroupException execStopped = assertThrows(GroupException.class,
                () -> groups.exec("pod", "server", List.of("true"), Duration.ofSeconds(5)));
        assertTrue(execStopped.getMessage().contains("found it stopped"), execStopped.getMessage());

        g.rm();
        assertFalse(Files.exists(dir));
        GroupException gone = assertThrows(GroupException.class, () -> groups.status("pod"));
        assertTrue(gone.getMessage().contains("expected a group named pod, found none"), gone.getMessage());
    }

    @Test
    void declaredPortsAreReachableOnTheHostsLoopbackUntilStop() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        String web = """
                name: %s
                containers:
                  - name: server
                    image: coffer.test/busybox:1
                    command: [httpd, -f, -p, "127.0.0.1:%d", -h, /www]
                    ports: [{containerPort: %d}]
                scratch: {allowUnencrypted: true}
                """;
        GroupSpec spec = GroupSpecParser.parse(web.formatted("web", port, port), "web.yaml");
        started.add("web");
        groups.run(spec, RunOptions.defaults());
        var http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/index.html"))
                .timeout(Duration.ofSeconds(20)).build();
        java.net.http.HttpResponse<String> page = null;
        // httpd binds a moment after its container starts
        for (int i = 0; i < 100 && page == null; i++) {
            try {
                page = http.send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
            } catch (java.io.IOException e) {
                Thread.sleep(100);
            }
        }
        assertNotNull(page, "no answer on 127.0.0.1:" + port);
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("hello from the server"), page.body());

        // the same port twice on this host: the second group's agent cannot listen, and says so
        GroupException taken = assertThrows(GroupException.class, () -> groups.run(GroupSpecParser.parse(web.formatted("web2", port, port), "web2.yaml"), RunOptions.defaults()));
        assertTrue(taken.getMessage().contains("cannot listen on 127.0.0.1:" + port), taken.getMessage());

        groups.stop("web", Duration.ofSeconds(2));
        assertThrows(java.net.ConnectException.class, () -> new java.net.Socket("127.0.0.1", port).close());
    }

    @Test
    void followingLogsEndsWhenTheContainersExit() throws Exception {
        assertEquals(List.of("line1", "line2", "line3"), runAndFollow("follow", "counter", "for i in 1 2 3; do echo line$i; sleep 0.3; done"));
        assertEquals(0, groups.waitFor("follow", "counter", Duration.ofSeconds(10)).exitCode());
    }

    /** Runs a one-container group whose container runs {@code script}, and follows its log to the end. */
    private List<String> runAndFollow(String group, String container, String script) throws Exception {
        String spec = """
                name: %s
                containers:
                  - name: %s
                    image: coffer.test/busybox:1
                    command: [sh, -c, "%s"]
                scratch: {allowUnencrypted: true}
                """.formatted(group, container, script);
        started.add(group);
        groups.run(GroupSpecParser.parse(spec, group + ".yaml"), RunOptions.defaults());
        List<String> lines = new ArrayList<>();
        groups.logs(group, container, true, lines::add);
        return lines;
    }

    /**
     * Following a group's logs asks the agent whether its containers exited often at first (a short
     * run ends at once) and less often later: over a 12 s run a few dozen wait_container decisions
     * reach the bounded decision log, not one per 200 ms (60), which filled it within an hour.
     */
    @Test
    void followingALongRunAsksTheAgentLessOften() throws Exception {
        assertEquals(List.of("begun", "ended"), runAndFollow("longfollow", "sleeper", "echo begun; sleep 12; echo ended"));
        // a decision is logged as pending and then as committed: one sequence number each
        long waits = Files.readAllLines(home.resolve("groups/longfollow/sandbox/policy-decisions.jsonl")).stream()
                .filter(l -> l.contains("\"rule\":\"wait_container\"") && l.contains("\"containerID\":\"sleeper\""))
                .map(l -> l.substring(0, l.indexOf(','))).distinct().count();
        System.out.println("wait_container decisions while following a 12 s run: " + waits);
        assertTrue(waits >= 1 && waits <= 30, waits + " wait_container decisions while following a 12 s run");
    }

    @Test
    void exitChecksAreEveryRoundAtFirstThenLessOften() {
        assertEquals(0, LogFollower.exitCheckInterval(0));
        assertEquals(0, LogFollower.exitCheckInterval(1_999));
        assertEquals(1_000, LogFollower.exitCheckInterval(2_000));
        assertEquals(2_000, LogFollower.exitCheckInterval(30_000));
        assertEquals(2_000, LogFollower.exitCheckInterval(Long.MAX_VALUE / 2));
    }

    /** A spec's user by name and its supplementary groups: pinned by the generated policy, run with exactly those ids. */
    @Test
    void containerRunsAsTheSpecsUserWithItsSupplementaryGroups() throws Exception {
        String spec = """
                name: asuser
                containers:
                  - name: whoami
                    image: coffer.test/busybox:1
                    command: [sh, -c, "echo $(id -u) $(id -g) $(id -G)"]
                    user: "nobody:3000"
                    supplementalGroups: [2000, 65534]
                scratch: {allowUnencrypted: true}
                """;
        started.add("asuser");
        groups.run(GroupSpecParser.parse(spec, "u.yaml"), RunOptions.defaults());
        assertEquals(0, groups.waitFor("asuser", "whoami", Duration.ofSeconds(30)).exitCode());
        List<String> lines = new ArrayList<>();
        groups.logs("asuser", "whoami", false, lines::add);
        assertEquals(1, lines.size(), lines.toString());
        List<String> ids = List.of(lines.getFirst().trim().split(" +"));
        assertEquals(List.of("65534", "3000"), ids.subList(0, 2), "nobody from the image's /etc/passwd, the spec's group");
        assertEquals(java.util.Set.of("3000", "2000", "65534"), java.util.Set.copyOf(ids.subList(2, ids.size())), lines.toString());
    }

    @Test
    void groupsNobodyWillStopAreReaped() throws Exception {
        run("orphan");
        run("crashed");
        run("kept");
        // "orphan" was started by a foreground CLI that was killed with -9: its owner is gone
        Process cli = new ProcessBuilder("true").start();
        cli.waitFor();
        GroupOwner.of(cli.toHandle()).write(groups.groupDir("orphan"));
        // "crashed" lost its sandbox
        ProcessHandle agent = ProcessHandle.of(groups.status("crashed").agentPid()).orElseThrow();
        agent.destroyForcibly();
        agent.onExit().get();
        // "kept" was detached (coffer run -d): nobody owns it, and it keeps running
        groups.detach("kept");

        List<GroupManager.Reaped> reaped = groups.reap(groups.list());
        assertEquals(List.of("crashed", "orphan"), reaped.stream().map(GroupManager.Reaped::name).sorted().toList());
        assertTrue(reaped.stream().anyMatch(r -> r.reason().contains("foreground `coffer run`")), reaped.toString());
        assertTrue(reaped.stream().anyMatch(r -> r.reason().contains("died without a stop")), reaped.toString());
        for (String name : List.of("orphan", "crashed")) {
            assertEquals("stopped", groups.status(name).status());
            assertEquals(List.of(), Mounts.mountedUnder(groups.groupDir(name)), name);
            assertEquals(List.of(), processesUnder(groups.groupDir(name)), name);
        }
        assertEquals("running", groups.status("kept").status());
        // this test's JVM owns nothing now, and a second pass finds nothing to do
        assertEquals(List.of(), groups.reap(groups.list()));
    }

    @Test
    void aDeadAgentIsNoticedAndStopCleansUp() throws Exception {
        run("crash");
        GroupStatus before = groups.status("crash");
        List<Long> containerPids = before.containers().stream().filter(c -> "running".equals(c.state()))
                .map(ContainerRecord::pid).toList();
        assertFalse(containerPids.isEmpty());
        ProcessHandle agent = ProcessHandle.of(before.agentPid()).orElseThrow();
        agent.destroyForcibly();
        agent.onExit().get();
        GroupStatus after = groups.status("crash");
        assertEquals("agent-dead", after.status());
        assertNotNull(after.problem());
        assertTrue(after.problem().contains("coffer stop crash"), after.problem());
        // the containers outlive their agent; stop must still remove them, every mount and cgroup
        GroupManager.StopOutcome stop = groups.stop("crash", Duration.ofSeconds(1));
        assertFalse(stop.alreadyStopped());
        Path dir = groups.groupDir("crash");
        assertEquals(List.of(), Mounts.mountedUnder(dir));
        assertEquals(List.of(), processesUnder(dir));
        for (long pid : containerPids) {
            assertTrue(gone(pid), "container process " + pid + " survived");
        }
        String cgroupPrefix = "coffer-crash-" + before.agentPid() + "-";
        try (var controllers = Files.list(Path.of("/sys/fs/cgroup"))) {
            for (Path c : controllers.filter(Files::isDirectory).toList()) {
                try (var entries = Files.list(c)) {
                    assertEquals(List.of(), entries.filter(e -> e.getFileName().toString().startsWith(cgroupPrefix)).toList());
                }
            }
        }
    }

    /**
     * An agent that never answers (SIGSTOPped here: hung, or a hostile sandbox) cannot hold a stop
     * hostage: after the ping probe goes unanswered, rm --force kills the agent and everything it
     * started, cleans up from the host, and says the stop was forced. The timeout bounds a hang of
     * the test; it asserts nothing about speed.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
    void aStoppedAgentIsKilledAndRmForceLeavesNothing() throws Exception {
        run("hung");
        GroupStatus before = groups.status("hung");
        List<Long> containerPids = before.containers().stream().filter(c -> "running".equals(c.state()))
                .map(ContainerRecord::pid).toList();
        assertFalse(containerPids.isEmpty());
        long agentPid = before.agentPid();
        signal("STOP", agentPid);
        Path dir = groups.groupDir("hung");
        try {
            // the probe waits one query deadline: 10 s here rather than the default minute
            GroupManager.StopOutcome stopped = new GroupManager(home, SILENT_AGENT_DEADLINES).rm("hung", true);
            assertNotNull(stopped, "rm --force of a running group reports its stop");
            assertTrue(stopped.forced(), "the stop of a silent agent is forced");
            assertTrue(stopped.forcedBecause().contains("ping") && stopped.forcedBecause().contains("pid " + agentPid),
                    stopped.forcedBecause());
            // exit codes the agent never reported are unknown, not invented
            assertTrue(stopped.containers().stream().filter(c -> containerPids.contains(c.pid()))
                    .allMatch(c -> c.exitCode() == null && "unknown".equals(c.state())), stopped.containers().toString());
            assertTrue(gone(agentPid), "the stopped agent survived");
            for (long pid : containerPids) {
                assertTrue(gone(pid), "container process " + pid + " survived");
            }
            assertEquals(List.of(), Mounts.mountedUnder(home));
            assertEquals(List.of(), processesUnder(dir));
            assertFalse(Files.exists(dir), "the group directory is removed");
        } finally {
            signal("CONT", agentPid); // a survivor (the test failed) can then be stopped by tearDown
        }
    }

    static void signal(String name, long pid) throws Exception {
        if (ProcessHandle.of(pid).isEmpty()) return;
        new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start().waitFor();
    }

    @Test
    void unknownImageChangesNothing() throws Exception {
        String spec = "name: noimg\ncontainers:\n  - name: a\n    image: coffer.test/missing:9\n";
        GroupException e = assertThrows(GroupException.class,
                () -> groups.run(GroupSpecParser.parse(spec, "g.yaml"), RunOptions.defaults()));
        assertTrue(e.getMessage().startsWith("containers[0] (a): "), e.getMessage());
        assertTrue(e.getMessage().contains("coffer image import"), e.getMessage());
        assertFalse(Files.exists(groups.groupDir("noimg")));
    }

    @Test
    void aTamperedLayerBlobIsRefusedAndNotCached() throws Exception {
        try (dev.coffer.oci.store.ImageStore store = dev.coffer.oci.store.ImageStore.open(home)) {
            dev.coffer.oci.store.LayerBlob base = store.resolve(TestImages.BUSYBOX).layers().getFirst();
            Path blob = store.blobPath(base.digest());
            byte[] bytes = Files.readAllBytes(blob);
            bytes[bytes.length / 2] ^= 0x01;
            Files.write(blob, bytes);
        }
        GroupSpec spec = GroupSpecParser.parse(POD.formatted("tampered"), "pod.yaml");
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> groups.run(spec, RunOptions.defaults()));
        assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("tamper")
                || e.getMessage().contains("digest")
                // a flipped bit can break the tar stream before the digest check at its end
                || e.getMessage().contains("cannot be turned into a layer disk"), e.getMessage());
        assertFalse(Files.exists(groups.groupDir("tampered")));
        try (var cached = Files.list(home.resolve("layers"))) {
            assertEquals(List.of(), cached.toList(), "nothing from a tampered blob may enter the layer cache");
        }
    }

    @Test
    void missingRuntimeBinaryIsAPreciseError() throws Exception {
        GroupSpec spec = GroupSpecParser.parse(POD.formatted("nort"), "pod.yaml");
        GroupException explicit = assertThrows(GroupException.class,
                () -> groups.run(spec, RunOptions.defaults().withOciRuntime("/opt/none/runc")));
        assertTrue(explicit.getMessage().contains("/opt/none/runc is not an executable file"), explicit.getMessage());
        assertTrue(explicit.getMessage().contains("install one"), explicit.getMessage());
        assertFalse(Files.exists(groups.groupDir("nort")));

        Path emptyBin = Files.createDirectories(work.resolve("empty-bin"));
        GroupException onPath = assertThrows(GroupException.class,
                () -> groups.run(spec, RunOptions.defaults().withAgentEnvironment(Map.of("PATH", emptyBin.toString()))));
        assertTrue(onPath.getMessage().contains("runc not found on PATH=" + emptyBin), onPath.getMessage());
        assertFalse(Files.exists(groups.groupDir("nort")));
        assertEquals(List.of(), Mounts.mountedUnder(home));
    }

    @Test
    void aFailingContainerStartRollsTheGroupBack() throws Exception {
        String spec = """
                name: badcmd
                containers:
                  - name: ok
                    image: coffer.test/busybox:1
                    command: [sleep, "30"]
                  - name: broken
                    image: coffer.test/busybox:1
                    command: [/bin/does-not-exist]
                scratch: {allowUnencrypted: true}
                """;
        GroupException e = assertThrows(GroupException.class,
                () -> groups.run(GroupSpecParser.parse(spec, "g.yaml"), RunOptions.defaults()));
        assertTrue(e.getMessage().contains("container broken did not start"), e.getMessage());
        assertTrue(e.getMessage().contains("/bin/does-not-exist"), e.getMessage());
        assertFalse(Files.exists(groups.groupDir("badcmd")));
        assertEquals(List.of(), processesUnder(groups.groupDir("badcmd")));
    }

    @Test
    void runningTheSameGroupTwiceIsRefused() throws Exception {
        run("twice");
        GroupException e = assertThrows(GroupException.class,
                () -> groups.run(GroupSpecParser.parse(POD.formatted("twice"), "pod.yaml"), RunOptions.defaults()));
        assertTrue(e.getMessage().contains("expected no group named twice, found one (running"), e.getMessage());
        GroupException rm = assertThrows(GroupException.class, () -> groups.rm("twice", false));
        assertTrue(rm.getMessage().contains("coffer stop twice"), rm.getMessage());
        groups.rm("twice", true);
        assertFalse(Files.exists(groups.groupDir("twice")));
    }

    /**
     * A spec that does not allow unencrypted scratch, on a host where the process sandbox cannot
     * encrypt it: refused before any container, with an error naming the setting, and nothing left
     * behind (no group directory, no process, no mount). Where the host has device-mapper the same
     * spec runs, its scratch encrypted on a loop-backed file ({@link #encryptedScratchWhereTheHostHasDeviceMapper}).
     */
    @Test
    void withoutDeviceMapperAPolicyThatRequiresEncryptedScratchIsRefused() throws Exception {
        String cannotEncrypt = dev.coffer.agent.volume.ScratchVolume.fileUnavailableReason();
        org.junit.jupiter.api.Assumptions.assumeTrue(cannotEncrypt != null,
                "this host has device-mapper: encryptedScratchWhereTheHostHasDeviceMapper covers it");
        String spec = POD.formatted("plain").replace("scratch: {allowUnencrypted: true}", "");
        GroupException e = assertThrows(GroupException.class,
                () -> groups.run(GroupSpecParser.parse(spec, "pod.yaml"), RunOptions.defaults()));
        String m = e.getMessage();
        assertTrue(m.contains("expected the policy to allow unencrypted scratch (allow_unencrypted_scratch := true), found it refused"), m);
        assertTrue(m.contains("unencrypted scratch is not allowed"), "the agent's policy decision: " + m);
        assertTrue(m.contains(cannotEncrypt), "why this sandbox cannot encrypt: " + m);
        assertTrue(m.contains("scratch: {allowUnencrypted: true}") && m.contains("--allow-unencrypted-scratch")
                && m.contains("--isolation microvm"), "what to do: " + m);
        assertFalse(Files.exists(groups.groupDir("plain")), "nothing left behind");
        assertEquals(List.of(), processesUnder(groups.groupDir("plain")));
        assertEquals(List.of(), Mounts.mountedUnder(home));
    }

    @Test
    void encryptedScratchWhereTheHostHasDeviceMapper() throws Exception {
        String cannotEncrypt = dev.coffer.agent.volume.ScratchVolume.fileUnavailableReason();
        org.junit.jupiter.api.Assumptions.assumeTrue(cannotEncrypt == null,
                "skipped: the process sandbox cannot encrypt scratch on this host: " + cannotEncrypt);
        String spec = POD.formatted("sealed").replace("scratch: {allowUnencrypted: true}", "");
        started.add("sealed");
        GroupHandle g = groups.run(GroupSpecParser.parse(spec, "pod.yaml"), RunOptions.defaults());
        assertEquals(3, g.waitFor("client", Duration.ofSeconds(60)).exitCode());
        assertEquals(new ScratchRecord(true, null), groups.scratch("sealed"));
        String mapper = dev.coffer.agent.volume.ScratchVolume.mapperNameFor("sealed");
        assertTrue(Files.exists(Path.of("/dev/mapper", mapper)), "the group's own dm-crypt mapping");
        Path dir = groups.groupDir("sealed");
        // the client wrote the server's page into the emptyDir: on the host it is ciphertext only
        assertEquals(0, new ProcessBuilder("sync").inheritIO().start().waitFor());
        byte[] image = Files.readAllBytes(dir.resolve("sandbox").resolve(dev.coffer.agent.container.ContainerService.SCRATCH_FILE));
        assertFalse(new String(image, java.nio.charset.StandardCharsets.ISO_8859_1).contains("hello from the server"),
                "plaintext in the scratch file");
        groups.stop("sealed", Duration.ofSeconds(2));
        assertFalse(Files.exists(Path.of("/dev/mapper", mapper)), "stop closed the mapping, dropping the key");
    }

    /** True once {@code pid} has exited; a killed process may stay a zombie until its reaper runs. */
    static boolean gone(long pid) throws Exception {
        var handle = ProcessHandle.of(pid);
        if (handle.isEmpty()) return true;
        try {
            handle.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    /** Processes whose command line names a path under {@code dir} (runc, the agent). */
    static List<String> processesUnder(Path dir) throws Exception {
        List<String> found = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                    if (cmd.contains(dir + "/")) found.add(p.getFileName() + ": " + cmd);
                } catch (java.io.IOException ignored) {
                    // exited while we looked
                }
            }
        }
        return found;
    }
}
