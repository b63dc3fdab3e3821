package dev.coffer.agent;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exec processes the host streams, against a real agent process running busybox containers with
 * the host's runc/crun under a generated policy: an interactive shell fed through
 * write_exec_stdin, stdin refused where the policy does not allow it (with the rule), the bounds,
 * and output kept past its exit until the host has read it.
 */
class ExecStreamAgentTest {
    static final String SPEC = """
            name: pod
            containers:
              - name: web
                image: coffer.test/busybox:1
                command: [sleep, "1000"]
                env:
                  - name: GREETING
                    value: hi
                execProcesses:
                  - command: [sh]
                    signals: [9]
                  - command: [sh, -c, "head -c 3000000 /dev/zero; echo done >&2; exit 4"]
                  - command: [sleep, "100"]
            scratch: {allowUnencrypted: true}
            """;

    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void cleanUp() throws Exception {
        AgentProcess.cleanUp(agent, dir);
    }

    /** Starts the agent under the policy of SPEC (plus {@code extraSpec}) with container "web" running. */
    private AgentClient startWeb(String extraSpec) throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        PolicyGenerator generator = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(layer.rootHash()), List.of(),
                List.of("sh"), List.of("PATH=/bin"), "/", ""));
        GeneratedPolicy policy = generator.generate(GroupPolicyInput.parse(SPEC + extraSpec, "pod.yaml"), false);
        Path policyFile = dir.resolve("policy.rego");
        Files.write(policyFile, policy.bytes());
        agent = AgentProcess.start(dir, "pod", "--policy", policyFile.toString(), "--host-data", policy.sha256(),
                "--layer-disk", layer.file().toAbsolutePath().toString());
        AgentClient c = agent.client();
        agent.unencryptedScratch(c);
        String l0 = agent.state.resolve("devices/l0").toString();
        Path rootfs = agent.state.resolve("containers/web/rootfs");
        c.call(new Request.MountDevice(layer.file().toString(), l0, layer.rootHash()), Result.Done.class);
        c.call(new Request.MountOverlay("web", List.of(l0), rootfs.toString()), Result.Done.class);
        c.call(new Request.CreateContainer("web", rootfs.toString(), List.of("sleep", "1000"), List.of("PATH=/bin", "GREETING=hi"),
                "/", null, null, List.of(), null, true, "pod"), Result.ContainerStatus.class);
        c.call(new Request.StartContainer("web"), Result.ContainerStatus.class);
        return c;
    }

    private static Request.ExecInContainer exec(String execID, boolean stdin, String... argv) {
        return new Request.ExecInContainer("web", List.of(argv), List.of(), null, 0, execID, stdin, false);
    }

    private static void write(AgentClient c, String execID, String text, boolean close) throws Exception {
        c.call(new Request.WriteExecStdin("web", execID, text.getBytes(StandardCharsets.UTF_8), close), Result.Done.class);
    }

    /** Everything the exec writes, read chunk by chunk from the offsets each answer gives, until its exit. */
    private record Drained(byte[] stdout, byte[] stderr, int exitCode, int reads) {}

    private static Drained drain(AgentClient c, String execID, String untilStdoutContains) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long outAt = 0;
        long errAt = 0;
        for (int reads = 1; reads < 2000; reads++) {
            Result.ExecOutput o = c.call(new Request.ReadExecOutput("web", execID, outAt, errAt, 0, 2000), Result.ExecOutput.class);
            assertEquals(outAt + o.stdout().length, o.stdoutNext());
            assertEquals(errAt + o.stderr().length, o.stderrNext());
            out.write(o.stdout());
            err.write(o.stderr());
            outAt = o.stdoutNext();
            errAt = o.stderrNext();
            if (o.exited()) return new Drained(out.toByteArray(), err.toByteArray(), o.exitCode(), reads);
            if (untilStdoutContains != null && out.toString(StandardCharsets.UTF_8).contains(untilStdoutContains)) {
                return new Drained(out.toByteArray(), err.toByteArray(), -1, reads);
            }
        }
        throw new AssertionError("exec " + execID + " did not end; stdout so far: " + out.toString(StandardCharsets.UTF_8));
    }

    private static void assertDenied(Response r, String... reasonParts) {
        assertFalse(r.ok(), "expected a refusal, found success");
        for (String part : reasonParts) {
            assertTrue(r.error().reason().contains(part), "expected \"" + part + "\" in: " + r.error().reason());
        }
    }

    @Test
    void anInteractiveShellReadsStdinWhereThePolicyAllowsIt() throws Exception {
        try (AgentClient c = startWeb("stdin: {allow: true}\n")) {
            c.call(exec("sh1", true, "sh"), Result.Done.class);
            long t0 = System.nanoTime();
            write(c, "sh1", "echo hello $GREETING; read line; echo got:$line; echo oops >&2\n", false);
            Drained first = drain(c, "sh1", "hello hi\n");
            System.out.printf("write_exec_stdin then read_exec_output until the echo: %d ms, %d reads%n",
                    java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), first.reads());
            assertEquals("hello hi\n", new String(first.stdout(), StandardCharsets.UTF_8));
            assertTrue(Files.exists(agent.state.resolve("containers/web/exec-sh1.pid")), "the runtime wrote the exec's pid");
            // the shell waits on `read` until the host types the line
            write(c, "sh1", "typed by the host\n", false);
            write(c, "sh1", "exit 5\n", true);
            Result.ExecOutput rest;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            long outAt = first.stdout().length;
            long errAt = first.stderr().length;
            err.write(first.stderr());
            do {
                rest = c.call(new Request.ReadExecOutput("web", "sh1", outAt, errAt, 0, 2000), Result.ExecOutput.class);
                out.write(rest.stdout());
                err.write(rest.stderr());
                outAt = rest.stdoutNext();
                errAt = rest.stderrNext();
            } while (!rest.exited());
            assertEquals("got:typed by the host\n", out.toString(StandardCharsets.UTF_8));
            assertEquals("oops\n", err.toString(StandardCharsets.UTF_8));
            assertEquals(5, rest.exitCode());
            assertFalse(rest.outputWithheld());
            // an exec whose exit was read is forgotten, with the pid file the runtime wrote for it
            assertEquals(Response.Failure.NOT_FOUND,
                    c.exchange(new Request.ReadExecOutput("web", "sh1", outAt, errAt, 0, 0)).error().code());
            assertFalse(Files.exists(agent.state.resolve("containers/web/exec-sh1.pid")), "pid file left behind");
        }
    }

    @Test
    void stdinIsRefusedWhereThePolicyDoesNotAllowIt() throws Exception {
        try (AgentClient c = startWeb("")) {
            // an exec asking for stdin is refused by the policy, naming the setting
            assertDenied(c.exchange(exec("sh1", true, "sh")), "exec_in_container", "allow_stdin");
            // the same exec without stdin runs (its stdin is empty: sh reads EOF and ends at once)
            c.call(exec("sh2", false, "sh"), Result.Done.class);
            // and the host cannot write into it either: write_exec_stdin is judged before the exec is looked at
            assertDenied(c.exchange(new Request.WriteExecStdin("web", "sh2", "id\n".getBytes(StandardCharsets.UTF_8), false)),
                    "write_exec_stdin", "allow_stdin");
            Drained d = drain(c, "sh2", null);
            assertEquals(0, d.exitCode());
            assertEquals(0, d.stdout().length);
            // a command the policy does not list is refused as a run-to-completion exec would be
            assertDenied(c.exchange(exec("x", false, "cat", "/etc/passwd")), "exec_in_container");
        }
    }

    @Test
    void boundsAndOutputKeptPastTheExit() throws Exception {
        try (AgentClient c = startWeb("stdin: {allow: true}\n")) {
            // 3 MB of output, more than the agent buffers per stream: the process waits on its pipe
            // until the host reads, and its exit comes after the last byte
            c.call(exec("big", false, "sh", "-c", "head -c 3000000 /dev/zero; echo done >&2; exit 4"), Result.Done.class);
            Thread.sleep(1500); // it has ended its writes, or waits on a full buffer: either way nothing is lost
            long t0 = System.nanoTime();
            Drained big = drain(c, "big", null);
            long ms = Math.max(1, java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            System.out.printf("read_exec_output: 3,000,000 bytes of stdout in %d reads, %d ms (%.1f MB/s)%n", big.reads(), ms,
                    3.0 * 1000 / ms);
            assertEquals(3_000_000, big.stdout().length);
            assertArrayEquals(new byte[3_000_000], big.stdout());
            assertEquals("done\n", new String(big.stderr(), StandardCharsets.UTF_8));
            assertEquals(4, big.exitCode());
            assertTrue(big.reads() > 1, "read in several chunks");

            // a terminal is refused with what to do instead
            assertDenied(c.exchange(new Request.ExecInContainer("web", List.of("sh"), List.of(), null, 0, "tty", true, true)),
                    "terminal");
            // an execID that is not a name
            assertDenied(c.exchange(exec("../x", false, "sleep", "100")), "execID");

            // an oversized stdin chunk
            c.call(exec("sh1", true, "sh"), Result.Done.class);
            Response big1 = c.exchange(new Request.WriteExecStdin("web", "sh1", new byte[Request.MAX_STDIN_CHUNK + 1], false));
            assertDenied(big1, "at most " + Request.MAX_STDIN_CHUNK);
            // an offset before what was released, or past what was written
            assertDenied(c.exchange(new Request.ReadExecOutput("web", "sh1", 5, 0, 0, 0)), "stdout offset");

            // at most 16 live exec processes in the sandbox (sh1 is one)
            for (int i = 0; i < 15; i++) c.call(exec("s" + i, false, "sleep", "100"), Result.Done.class);
            assertDenied(c.exchange(exec("s15", false, "sleep", "100")), "at most 16 exec processes");
            assertDenied(c.exchange(exec("s0", false, "sleep", "100")), "already");

            // Kill on an exec: signal_container_process naming it, judged against its exec_processes' signals
            assertDenied(c.exchange(new Request.SignalContainerProcess("web", 15, "s0")), "signal_container_process");
            c.call(new Request.SignalContainerProcess("web", 9, "sh1"), Result.Done.class);
            assertEquals(137, drain(c, "sh1", null).exitCode());
            // its slot is free again
            c.call(exec("s15", false, "sleep", "100"), Result.Done.class);
        }
    }
}
