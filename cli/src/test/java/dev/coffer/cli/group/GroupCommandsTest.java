package dev.coffer.cli.group;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.agent.container.Mounts;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The group commands end to end: each invocation a separate JVM, real containers. */
class GroupCommandsTest {
    static final String IMAGE = "coffer.test/busybox:1";
    static final String POD = """
            name: %s
            # no device-mapper here: the process sandbox's scratch is plaintext, and the spec says that is acceptable
            scratch: {allowUnencrypted: true}
            containers:
              - name: server
                image: coffer.test/busybox:1
                command: [httpd, -f, -p, "127.0.0.1:8080", -h, /www]
                execProcesses:
                  - command: [sh, -c, "hostname; echo oops >&2; exit 5"]
              - name: client
                image: coffer.test/busybox:1
                command:
                  - sh
                  - -c
                  - for i in $(seq 1 50); do wget -q -O - http://127.0.0.1:8080/ && break; sleep 0.2; done; exit %d
            """;

    @TempDir
    Path home;
    @TempDir
    Path work;

    @BeforeEach
    void image() throws Exception {
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer layer = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755);
        for (String a : List.of("sh", "seq", "sleep", "wget", "httpd", "cat", "echo", "hostname")) layer.symlink("bin/" + a, "busybox");
        layer.dir("proc").dir("sys").dir("dev").dir("tmp", 01777).dir("etc").dir("www")
                .file("www/index.html", "hello over localhost\n", 0644);
        Path layout = new ImageBuilder().layer(layer).config(ImageConfig.of(List.of("sh")))
                .writeLayout(Files.createDirectories(work.resolve("layout")), IMAGE);
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(layout);
        }
    }

    @AfterEach
    void noLeftovers() throws Exception {
        for (Path m : Mounts.mountedUnder(home)) {
            GroupCli.run(home, work, "stop", m.toString().replaceAll(".*/groups/([^/]+)/.*", "$1"), "--grace", "1");
        }
        assertEquals(List.of(), Mounts.mountedUnder(home), "mounts left behind");
    }

    /**
     * A spec that does not allow plaintext scratch, run where the process sandbox cannot encrypt
     * it: refused before any container, the error naming the spec setting and the policy flag, and
     * nothing left (no group, no mount).
     */
    @Test
    void aRunWhoseSpecDoesNotAllowUnencryptedScratchIsRefusedWhereItCannotBeEncrypted() throws Exception {
        String cannotEncrypt = dev.coffer.runtime.group.Isolation.encryptedScratchUnavailable("process");
        org.junit.jupiter.api.Assumptions.assumeTrue(cannotEncrypt != null, "this host has device-mapper: the scratch is encrypted");
        Path f = work.resolve("strict.yaml");
        Files.writeString(f, POD.formatted("strict", 0).replace("scratch: {allowUnencrypted: true}\n", ""));
        GroupCli.Outcome run = GroupCli.run(home, work, "run", f.toString(), "--isolation", "process", "-d");
        assertEquals(1, run.exitCode(), run.out() + run.err());
        assertTrue(run.err().contains("expected the policy to allow unencrypted scratch (allow_unencrypted_scratch := true)"), run.err());
        assertTrue(run.err().contains(cannotEncrypt) && run.err().contains("scratch: {allowUnencrypted: true}")
                && run.err().contains("--allow-unencrypted-scratch"), run.err());
        assertFalse(run.out().contains("running"), run.out());
        assertFalse(Files.exists(home.resolve("groups").resolve("strict")), "nothing left behind");
    }

    private Path spec(String name, int clientExit) throws Exception {
        Path f = work.resolve(name + ".yaml");
        Files.writeString(f, POD.formatted(name, clientExit));
        return f;
    }

    @Test
    void everyCommandExplainsItselfWithAnExample() {
        CommandLine cli = GroupCli.commandLine();
        for (String name : List.of("run", "ps", "logs", "exec", "stop", "rm")) {
            StringWriter help = new StringWriter();
            PrintWriter pw = new PrintWriter(help);
            cli.setOut(pw);
            assertEquals(0, cli.execute(name, "--help"));
            pw.flush();
            assertTrue(help.toString().contains("Example"), name + ": " + help);
        }
    }

    @Test
    void detachedLifecycleAcrossSeparateInvocations() throws Exception {
        GroupCli.Outcome run = GroupCli.run(home, work, "run", spec("web", 0).toString(), "-d");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(1, run.err().lines().filter(l -> l.contains("isolates nothing from the host")).count(), run.err());
        assertTrue(run.out().contains("group web running: server (pid "), run.out());
        // the run says what the scratch is: here plaintext on the host (no device-mapper), with the reason
        String cannotEncrypt = dev.coffer.runtime.group.Isolation.encryptedScratchUnavailable("process");
        assertTrue(run.out().contains(cannotEncrypt == null ? "scratch: encrypted (LUKS2" : "scratch: UNENCRYPTED"), run.out());

        GroupCli.Outcome wait = GroupCli.run(home, work, "logs", "web", "client", "-f");
        assertEquals(0, wait.exitCode(), wait.err());
        assertEquals("hello over localhost\n", wait.out());

        GroupCli.Outcome ps = GroupCli.run(home, work, "ps", "-o", "json");
        assertEquals(0, ps.exitCode(), ps.err());
        JsonNode groups = new ObjectMapper().readTree(ps.out());
        assertEquals("running", groups.get(0).get("status").asText());
        // the policy is generated from the spec by default; its execProcesses allow the exec below
        assertTrue(groups.get(0).get("enforcer").asText().matches("policy sha256:[0-9a-f]{64}"), ps.out());
        assertEquals("running", groups.get(0).get("containers").get(0).get("state").asText());
        assertEquals(0, groups.get(0).get("containers").get(1).get("exitCode").asInt());

        GroupCli.Outcome table = GroupCli.run(home, work, "ps");
        assertTrue(table.out().startsWith("GROUP"), table.out());
        assertTrue(table.out().lines().anyMatch(l -> l.matches("web\\s+running\\s+process\\s+sim\\s+policy sha256:[0-9a-f]{64}\\s+client\\s+exited\\s+0\\s+-")), table.out());

        GroupCli.Outcome exec = GroupCli.run(home, work, "exec", "web", "server", "--", "sh", "-c", "hostname; echo oops >&2; exit 5");
        assertEquals(5, exec.exitCode(), exec.err());
        assertEquals("web\n", exec.out());
        assertEquals("oops\n", exec.err());

        GroupCli.Outcome unlisted = GroupCli.run(home, work, "exec", "web", "server", "--", "sh", "-c", "hostname");
        assertEquals(1, unlisted.exitCode(), unlisted.err());
        assertTrue(unlisted.err().contains("exec_in_container denied"), unlisted.err());

        GroupCli.Outcome execUsage = GroupCli.run(home, work, "exec", "web", "server");
        assertEquals(2, execUsage.exitCode(), execUsage.err());

        GroupCli.Outcome rmRunning = GroupCli.run(home, work, "rm", "web");
        assertEquals(1, rmRunning.exitCode());
        assertTrue(rmRunning.err().contains("run `coffer stop web` first"), rmRunning.err());

        GroupCli.Outcome stop = GroupCli.run(home, work, "stop", "web", "--grace", "1");
        assertEquals(0, stop.exitCode(), stop.err());
        assertTrue(stop.out().contains("group web stopped: server exited 137 (signal 9), client exited 0"), stop.out());
        assertEquals(List.of(), Mounts.mountedUnder(home));

        GroupCli.Outcome again = GroupCli.run(home, work, "stop", "web");
        assertEquals(0, again.exitCode(), again.err());
        assertTrue(again.out().contains("group web is already stopped; nothing to do"), again.out());

        GroupCli.Outcome logsAfter = GroupCli.run(home, work, "logs", "web");
        assertTrue(logsAfter.out().contains("[client] hello over localhost"), logsAfter.out());
        GroupCli.Outcome sandboxLog = GroupCli.run(home, work, "logs", "--guest", "web");
        assertEquals(0, sandboxLog.exitCode(), sandboxLog.err());
        assertTrue(sandboxLog.out().contains("READY") && sandboxLog.out().contains("enforcer=policy sha256:"), sandboxLog.out());

        GroupCli.Outcome rm = GroupCli.run(home, work, "rm", "web");
        assertEquals(0, rm.exitCode(), rm.err());
        assertFalse(Files.exists(home.resolve("groups/web")));
        GroupCli.Outcome psGone = GroupCli.run(home, work, "ps", "web");
        assertEquals(1, psGone.exitCode());
        assertTrue(psGone.err().startsWith("coffer: expected a group named web, found none"), psGone.err());
    }

    /**
     * An agent that never answers (SIGSTOPped here: hung, or a hostile sandbox) cannot hold
     * `coffer rm --force` hostage: once its ping goes unanswered for the query deadline (10 s
     * here, through COFFER_AGENT_QUERY_DEADLINE) the sandbox is killed, the output says the stop
     * was forced and why, and nothing of the group is left.
     */
    @Test
    void rmForceOfAGroupWhoseAgentNeverAnswersSaysTheStopWasForced() throws Exception {
        GroupCli.Outcome run = GroupCli.run(home, work, "run", spec("mute", 0).toString(), "-d");
        assertEquals(0, run.exitCode(), run.err());
        GroupCli.Outcome ps = GroupCli.run(home, work, "ps", "mute", "-o", "json");
        long agentPid = new ObjectMapper().readTree(ps.out()).get(0).get("agentPid").asLong();
        assertTrue(agentPid > 0, ps.out());
        new ProcessBuilder("kill", "-STOP", Long.toString(agentPid)).inheritIO().start().waitFor();
        try {
            Path out = work.resolve("rm-out.txt");
            Path err = work.resolve("rm-err.txt");
            ProcessBuilder rm = GroupCli.builder(home, work, "rm", "--force", "mute").redirectOutput(out.toFile()).redirectError(err.toFile());
            rm.environment().put("COFFER_AGENT_QUERY_DEADLINE", "10");
            Process p = rm.start();
            assertTrue(p.waitFor(10, java.util.concurrent.TimeUnit.MINUTES), "rm --force still running: " + Files.readString(err));
            String said = Files.readString(out);
            assertEquals(0, p.exitValue(), said + Files.readString(err));
            assertTrue(said.contains("stop forced: the agent did not answer ping") && said.contains("within 10 s")
                    && said.contains("killed the agent (pid " + agentPid + ")"), said);
            assertTrue(said.contains("group mute removed"), said);
            // killed, it may stay a zombie a moment until its reaper (init, since `run -d` exited) collects it
            var agent = ProcessHandle.of(agentPid);
            if (agent.isPresent()) {
                try {
                    agent.get().onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new AssertionError("the agent (pid " + agentPid + ") survived the forced stop", e);
                }
            }
            assertFalse(Files.exists(home.resolve("groups/mute")));
            assertEquals(List.of(), Mounts.mountedUnder(home));
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(agentPid)).inheritIO().start().waitFor();
        }
    }

    @Test
    void foregroundRunStreamsLogsAndReportsExitCodes() throws Exception {
        Path spec = work.resolve("fg.yaml");
        Files.writeString(spec, """
                name: fg
                scratch: {allowUnencrypted: true}
                containers:
                  - name: once
                    image: coffer.test/busybox:1
                    command: [sh, -c, "echo first; echo second; exit 3"]
                """);
        GroupCli.Outcome r = GroupCli.run(home, work, "run", spec.toString());
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.out().contains("first\nsecond\n"), r.out());
        assertTrue(r.out().contains("group fg stopped: once exited 3"), r.out());
        assertTrue(r.err().contains("expected every container of fg to exit 0, found once exited 3"), r.err());
        assertEquals(List.of(), Mounts.mountedUnder(home));
    }

    @Test
    void startupReportSplitsTheRunUpToTheFirstOutput() throws Exception {
        Path spec = work.resolve("rep.yaml");
        Files.writeString(spec, """
                name: rep
                scratch: {allowUnencrypted: true}
                containers:
                  - name: once
                    image: coffer.test/busybox:1
                    command: [sh, -c, "echo first"]
                """);
        GroupCli.Outcome r = GroupCli.run(home, work, "run", spec.toString(), "--isolation", "process", "--startup-report");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("startup of group rep (process), from `coffer run` to the first container output:"), r.err());
        for (String phase : List.of("prepare (images, layer disks, policy)", "sandbox (agent start, policy load)", "layer mount",
                "container create", "container start", "until the first container output",
                "no bare boot to compare with: the process sandbox boots no VM")) {
            assertTrue(r.err().contains(phase), phase + " in " + r.err());
        }
        JsonNode json = new ObjectMapper().readTree(home.resolve("groups/rep/startup-report.json").toFile());
        assertTrue(json.get("toFirstOutput").asBoolean(), json.toString());
        assertTrue(json.get("bareBootToInitMs").isNull(), json.toString());
        long sum = 0;
        for (JsonNode p : json.get("phases")) if (p.get("depth").asInt() == 1) sum += p.get("ms").asLong();
        assertEquals(json.get("totalMs").asLong(), sum, json.toString());
        assertTrue(r.out().contains("first\n"), r.out());
    }

    @Test
    void ctrlCStopsAForegroundGroup() throws Exception {
        Path spec = work.resolve("sig.yaml");
        Files.writeString(spec, """
                name: sig
                scratch: {allowUnencrypted: true}
                containers:
                  - name: loop
                    image: coffer.test/busybox:1
                    command: [sh, -c, "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 0.1; done"]
                """);
        Path out = work.resolve("sig.out");
        Process p = GroupCli.builder(home, work, "run", spec.toString(), "--grace", "5")
                .redirectOutput(out.toFile()).redirectErrorStream(true).start();
        for (int i = 0; i < 600 && !Files.readString(out).contains("started"); i++) Thread.sleep(100);
        assertTrue(Files.readString(out).contains("started"), Files.readString(out));
        // Ctrl-C is SIGINT; but a JVM started with SIGINT ignored (a background job of a shell without
        // job control, `cmd &` in a script, ignores it by POSIX rule) passes that on to the CLI, whose
        // JVM then rightly keeps ignoring it. SIGTERM runs the same stop hook, so send that there.
        String signal = sigintIgnored() ? "-TERM" : "-INT";
        new ProcessBuilder("kill", signal, Long.toString(p.pid())).start().waitFor();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            // once (CI, loaded): the CLI had not exited a minute after SIGINT; say where everything was
            String threads = dump(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(p.pid()), "Thread.print"));
            Path agentLog = home.resolve("groups/sig/agent.log");
            String agent = Files.exists(agentLog) ? Files.readString(agentLog) : "(no agent log)";
            p.destroyForcibly();
            fail("expected the CLI to stop group sig within 60 s of " + signal + ", it was still running.\n--- its output:\n"
                    + Files.readString(out) + "\n--- the agent's log:\n" + agent + "\n--- the CLI's threads:\n" + threads);
        }
        String text = Files.readString(out);
        assertTrue(text.contains("group sig stopped"), text);
        GroupCli.Outcome ps = GroupCli.run(home, work, "ps", "sig", "-o", "json");
        JsonNode g = new ObjectMapper().readTree(ps.out()).get(0);
        assertEquals("stopped", g.get("status").asText());
        assertEquals(0, g.get("containers").get(0).get("exitCode").asInt(), "the container's TERM trap ran");
        assertEquals(List.of(), Mounts.mountedUnder(home));
    }

    @Test
    void badInputGivesPreciseOneLineErrors() throws Exception {
        Path bad = work.resolve("bad.yaml");
        Files.writeString(bad, "name: bad\ncontainers:\n  - name: a\n    image: x\n    ports: [{containerPort: nope}]\n");
        GroupCli.Outcome malformed = GroupCli.run(home, work, "run", bad.toString());
        assertEquals(1, malformed.exitCode());
        assertTrue(malformed.err().startsWith("coffer: " + bad + ":5:"), malformed.err());
        assertTrue(malformed.err().contains("containers[0].ports[0].containerPort: expected a port number 1..65535, found the string \"nope\""),
                malformed.err());

        Path noImage = work.resolve("noimage.yaml");
        Files.writeString(noImage, "name: noimage\ncontainers:\n  - name: a\n    image: coffer.test/absent:1\n");
        GroupCli.Outcome unknown = GroupCli.run(home, work, "run", noImage.toString(), "-d");
        assertEquals(1, unknown.exitCode());
        assertTrue(unknown.err().contains("coffer: containers[0] (a): no local image 'coffer.test/absent:1'"), unknown.err());

        GroupCli.Outcome noRuntime = GroupCli.run(home, work, "run", spec("nort", 0).toString(), "-d", "--runtime", "/opt/missing/crun");
        assertEquals(1, noRuntime.exitCode());
        assertTrue(noRuntime.err().contains("expected an OCI runtime (/opt/missing/crun), found none usable"), noRuntime.err());
        assertFalse(Files.exists(home.resolve("groups/nort")));

        GroupCli.Outcome badIsolation = GroupCli.run(home, work, "run", spec("iso", 0).toString(), "--isolation", "vm");
        assertEquals(2, badIsolation.exitCode());
        assertTrue(badIsolation.err().contains("expected --isolation auto, process or microvm, found \"vm\""), badIsolation.err());

        GroupCli.Outcome stopMissing = GroupCli.run(home, work, "stop", "nosuch");
        assertEquals(1, stopMissing.exitCode());
        assertTrue(stopMissing.err().contains("expected a group named nosuch, found none"), stopMissing.err());
    }

    /** What a diagnostic command prints (stdout and stderr), or why it could not run. */
    private static String dump(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return text;
        } catch (Exception e) {
            return "(" + String.join(" ", command) + " failed: " + e + ")";
        }
    }

    /** Whether this JVM ignores SIGINT (bit 2 of SigIgn in /proc/self/status), which every child inherits. */
    private static boolean sigintIgnored() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << 1)) != 0;
        }
        return false;
    }
}
