package dev.coffer.agent;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The agent as a separate process running real containers with the host's runc/crun. */
class AgentContainersTest {
    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void cleanUp() throws Exception {
        AgentProcess.cleanUp(agent, dir);
    }

    private LayerDisk layer() throws Exception {
        return BusyboxRootfs.disk(dir.resolve("layers"));
    }

    /** mount_overlay + create_container for one container over the busybox layer. */
    private void prepare(AgentClient c, String id, List<String> args, List<Request.Mount> mounts) throws Exception {
        Path overlay = agent.state.resolve("containers").resolve(id).resolve("rootfs");
        c.call(new Request.MountOverlay(id, List.of(agent.state.resolve("devices/l0").toString()), overlay.toString()),
                Result.Done.class);
        c.call(new Request.CreateContainer(id, overlay.toString(), args, List.of("PATH=/bin", "GREETING=hi"), "/",
                null, null, mounts, null, true, "pod"), Result.ContainerStatus.class);
    }

    @Test
    void twoContainersShareLocalhostAndReportExitCodes() throws Exception {
        LayerDisk layer = layer();
        agent = AgentProcess.start(dir, "pod", "--policy", "allow-all");
        assertTrue(agent.output().contains("READY"), agent.output());
        long serverPid;
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c); // allow-all; writable layers wait for scratch in every sandbox
            Result.Properties props = c.call(new Request.GetProperties(), Result.Properties.class);
            assertEquals("allow-all", props.enforcer());
            assertTrue(props.ociRuntime().startsWith("runc") || props.ociRuntime().startsWith("crun"), props.ociRuntime());

            c.call(new Request.MountDevice(layer.file().toString(), agent.state.resolve("devices/l0").toString(), layer.rootHash()),
                    Result.Done.class);
            assertTrue(Mounts.isMountPoint(agent.state.resolve("devices/l0")));
            prepare(c, "server", List.of("httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"), List.of());
            prepare(c, "client", List.of("sh", "-c",
                    "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /data/page http://127.0.0.1:8080/index.html && break; sleep 0.3; done;"
                            + " cat /data/page; echo $GREETING; exit 7"),
                    List.of(new Request.Mount("/data", "sandbox:///volumes/shared", "bind", List.of())));

            Result.ContainerStatus server = c.call(new Request.StartContainer("server"), Result.ContainerStatus.class);
            assertEquals("running", server.state());
            assertTrue(server.pid() != null && server.pid() > 1);
            serverPid = server.pid();
            c.call(new Request.StartContainer("client"), Result.ContainerStatus.class);

            Result.ContainerStatus done = c.call(new Request.WaitContainer("client", 30_000), Result.ContainerStatus.class);
            assertEquals("exited", done.state());
            assertEquals(7, done.exitCode());
            String log = Files.readString(Path.of(done.logPath()));
            assertTrue(log.contains("hello from the server"), log);
            assertTrue(log.contains("hi"), log);
            Result.LogChunk chunk = c.call(new Request.ReadLogs("client", 0, 1 << 16), Result.LogChunk.class);
            assertEquals(log, chunk.text());
            assertTrue(chunk.exited());

            // the emptyDir outlives the client and is shared with the host-side state directory
            assertTrue(Files.readString(agent.state.resolve("volumes/shared/page")).contains("hello"));

            Result.ExecResult exec = c.call(new Request.ExecInContainer("server",
                    List.of("sh", "-c", "echo out; echo err >&2; hostname; id -u; exit 3"), List.of("X=1"), "/www", 10_000),
                    Result.ExecResult.class);
            assertEquals(3, exec.exitCode());
            assertEquals("out\npod\n0\n", exec.stdout());
            assertEquals("err\n", exec.stderr());

            Response deniedConflict = c.exchange(new Request.StartContainer("server"));
            assertEquals(Response.Failure.CONFLICT, deniedConflict.error().code());

            // a second httpd started by exec outlives nothing: shutdown kills the whole container
            c.call(new Request.ExecInContainer("server", List.of("sh", "-c", "httpd -p 127.0.0.1:8090 -h /www"), List.of(), null,
                    10_000), Result.ExecResult.class);
            c.call(new Request.SignalContainerProcess("server", 9), Result.Done.class);
            Result.ContainerStatus killed = c.call(new Request.WaitContainer("server", 30_000), Result.ContainerStatus.class);
            assertEquals(137, killed.exitCode());

            assertInstanceOf(Result.Done.class, c.exchange(new Request.ShutdownSandbox(2000)).result());
        }
        assertEquals(0, agent.waitExit(), agent.output());
        assertTrue(gone(serverPid), "the server container survived the shutdown");
        assertEquals(List.of(), Mounts.mountedUnder(dir), "mounts left behind");
        assertFalse(Files.exists(agent.state.resolve("containers")), "overlay directories left behind");
        assertFalse(Files.exists(agent.socket));
        assertTrue(Files.exists(agent.state.resolve("logs/client.log")), "logs are kept after shutdown");
        assertEquals(List.of(), processesMentioning(dir.toString()), "processes left behind");
    }

    /** crun on a hybrid cgroup host runs in a private mount namespace with cgroup2 mounted. */
    @Test
    void crunRunsContainersToo() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/crun")), "crun is not installed");
        LayerDisk layer = layer();
        agent = AgentProcess.start(dir, "crunpod", "--policy", "allow-all", "--runtime", "crun");
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c); // allow-all; writable layers wait for scratch in every sandbox
            Result.Properties props = c.call(new Request.GetProperties(), Result.Properties.class);
            assertTrue(props.ociRuntime().startsWith("crun "), props.ociRuntime());
            c.call(new Request.MountDevice(layer.file().toString(), agent.state.resolve("devices/l0").toString(), layer.rootHash()), Result.Done.class);
            prepare(c, "srv", List.of("httpd", "-f", "-p", "127.0.0.1:8081", "-h", "/www"), List.of());
            prepare(c, "cli", List.of("sh", "-c",
                    "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8081/ && exit 5; sleep 0.3; done; exit 1"), List.of());
            c.call(new Request.StartContainer("srv"), Result.ContainerStatus.class);
            c.call(new Request.StartContainer("cli"), Result.ContainerStatus.class);
            Result.ContainerStatus done = c.call(new Request.WaitContainer("cli", 30_000), Result.ContainerStatus.class);
            assertEquals(5, done.exitCode());
            assertTrue(Files.readString(Path.of(done.logPath())).contains("hello from the server"));
            Result.ExecResult exec = c.call(new Request.ExecInContainer("srv", List.of("sh", "-c", "echo in-crun; exit 2"),
                    List.of(), null, 10_000), Result.ExecResult.class);
            assertEquals(2, exec.exitCode());
            assertEquals("in-crun\n", exec.stdout());
            assertInstanceOf(Result.Done.class, c.exchange(new Request.ShutdownSandbox(1000)).result());
        }
        assertEquals(0, agent.waitExit(), agent.output());
        assertEquals(List.of(), Mounts.mountedUnder(dir));
        assertEquals(List.of(), processesMentioning(dir.toString()));
    }

    @Test
    void userAndWorkingDirComeFromTheRequest() throws Exception {
        LayerDisk layer = layer();
        agent = AgentProcess.start(dir, "pod", "--policy", "allow-all");
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c); // allow-all; writable layers wait for scratch in every sandbox
            c.call(new Request.MountDevice(layer.file().toString(), agent.state.resolve("devices/l0").toString(), layer.rootHash()), Result.Done.class);
            Path overlay = agent.state.resolve("containers/u/rootfs");
            c.call(new Request.MountOverlay("u", List.of(agent.state.resolve("devices/l0").toString()), overlay.toString()), Result.Done.class);
            c.call(new Request.CreateContainer("u", overlay.toString(), List.of("sh", "-c", "id -u; id -g; pwd; touch /x || echo ro"),
                    List.of("PATH=/bin"), "/tmp", "nobody", null, List.of(), List.of("CAP_KILL"), true, null), Result.ContainerStatus.class);
            c.call(new Request.StartContainer("u"), Result.ContainerStatus.class);
            Result.ContainerStatus s = c.call(new Request.WaitContainer("u", 30_000), Result.ContainerStatus.class);
            assertEquals(0, s.exitCode());
            assertEquals("65534\n65534\n/tmp\nro\n", Files.readString(Path.of(s.logPath())).replaceAll("touch: /x: .*\n", ""));
            // shutting down one container removes its overlay and upper directory
            c.call(new Request.ShutdownContainer("u", 1000), Result.ContainerStatus.class);
            assertFalse(Files.exists(agent.state.resolve("containers/u")));
            assertFalse(Mounts.isMountPoint(overlay));
        }
    }

    /**
     * The grace of a stop: a container that takes 3 s to finish after SIGTERM exits cleanly with a
     * grace of 10 s, and is killed (137) with none, as CRI's SIGKILL and `coffer stop --grace 0`
     * ask. (A grace of 0 used to be taken for the 10 s default.)
     */
    @Test
    void aStopWithoutGraceKillsAtOnceAndOneWithGraceLetsTheContainerFinish() throws Exception {
        LayerDisk layer = layer();
        agent = AgentProcess.start(dir, "pod", "--policy", "allow-all");
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c);
            c.call(new Request.MountDevice(layer.file().toString(), agent.state.resolve("devices/l0").toString(), layer.rootHash()),
                    Result.Done.class);
            // sleep in the background so the shell's trap runs as soon as TERM arrives
            List<String> slowToStop = List.of("sh", "-c", "trap 'sleep 3; exit 0' TERM; echo up; sleep 1000 & wait");
            for (String id : List.of("graceful", "killed")) {
                prepare(c, id, slowToStop, List.of());
                c.call(new Request.StartContainer(id), Result.ContainerStatus.class);
                Path log = Path.of(c.call(new Request.WaitContainer(id, 1), Result.ContainerStatus.class).logPath());
                for (int i = 0; i < 300 && !(Files.exists(log) && Files.readString(log).contains("up")); i++) Thread.sleep(100);
            }
            Result.ContainerStatus graceful = c.call(new Request.ShutdownContainer("graceful", 10_000), Result.ContainerStatus.class);
            assertEquals(0, graceful.exitCode(), "the container finished its TERM handler within the grace");
            Result.ContainerStatus killed = c.call(new Request.ShutdownContainer("killed", 0), Result.ContainerStatus.class);
            assertEquals(137, killed.exitCode(), "no grace: SIGKILL before the TERM handler could finish");
        }
    }

    @Test
    void supplementaryGroupsComeFromTheRequestAndHostileOnesAreRefused() throws Exception {
        LayerDisk layer = layer();
        agent = AgentProcess.start(dir, "pod", "--policy", "allow-all");
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c);
            c.call(new Request.MountDevice(layer.file().toString(), agent.state.resolve("devices/l0").toString(), layer.rootHash()), Result.Done.class);
            Path overlay = agent.state.resolve("containers/g/rootfs");
            c.call(new Request.MountOverlay("g", List.of(agent.state.resolve("devices/l0").toString()), overlay.toString()), Result.Done.class);
            // what a hostile host could put in the request: refused before anything is made for the container
            for (List<Integer> bad : List.of(java.util.Arrays.asList(2000, null), List.of(-1),
                    java.util.stream.IntStream.range(0, 257).boxed().toList())) {
                Response r = c.exchange(new Request.CreateContainer("g", overlay.toString(), List.of("id"), List.of("PATH=/bin"), "/",
                        "1000:3000", bad, List.of(), null, true, null));
                assertEquals(Response.Failure.INVALID_REQUEST, r.error().code(), String.valueOf(bad));
                assertTrue(r.error().reason().contains("additionalGids"), r.error().reason());
                assertFalse(Files.exists(agent.state.resolve("containers/g/bundle")), "nothing was written for " + bad);
            }
            // containerd repeats the primary group among additionalGids; each group ends up once
            c.call(new Request.CreateContainer("g", overlay.toString(), List.of("sh", "-c", "id -u; id -g; id -G"), List.of("PATH=/bin"),
                    "/", "1000:3000", List.of(3000, 2000, 4000), List.of(), null, true, null), Result.ContainerStatus.class);
            c.call(new Request.StartContainer("g"), Result.ContainerStatus.class);
            Result.ContainerStatus s = c.call(new Request.WaitContainer("g", 30_000), Result.ContainerStatus.class);
            assertEquals(0, s.exitCode());
            List<String> lines = Files.readAllLines(Path.of(s.logPath()));
            assertEquals(List.of("1000", "3000"), lines.subList(0, 2));
            assertEquals(java.util.Set.of("3000", "2000", "4000"), java.util.Set.of(lines.get(2).trim().split(" +")), lines.toString());
        }
    }

    @Test
    void startFailureIsReportedWithTheRuntimeMessage() throws Exception {
        LayerDisk layer = layer();
        agent = AgentProcess.start(dir, "pod", "--policy", "allow-all");
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c); // allow-all; writable layers wait for scratch in every sandbox
            c.call(new Request.MountDevice(layer.file().toString(), agent.state.resolve("devices/l0").toString(), layer.rootHash()), Result.Done.class);
            prepare(c, "bad", List.of("/no/such/binary"), List.of());
            Response r = c.exchange(new Request.StartContainer("bad"));
            // runc/crun fail before the process runs; either way the reason names the binary
            if (!r.ok()) {
                assertEquals(Response.Failure.FAILED, r.error().code());
                assertTrue(r.error().reason().contains("/no/such/binary"), r.error().reason());
            } else {
                Result.ContainerStatus s = c.call(new Request.WaitContainer("bad", 30_000), Result.ContainerStatus.class);
                assertTrue(s.exitCode() != 0);
                assertTrue(Files.readString(Path.of(s.logPath())).contains("/no/such/binary"));
            }
        }
    }

    @Test
    void hostPathsAndEscapesAreRefusedWithoutStateChange() throws Exception {
        LayerDisk layer = layer();
        agent = AgentProcess.start(dir, "pod", "--policy", "allow-all");
        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c); // allow-all; writable layers wait for scratch in every sandbox
            Response outside = c.exchange(new Request.MountDevice(layer.file().toString(), "/tmp/elsewhere", layer.rootHash()));
            assertEquals(Response.Failure.INVALID_REQUEST, outside.error().code());
            assertTrue(outside.error().reason().contains("inside"), outside.error().reason());
            Response dotdot = c.exchange(new Request.MountDevice(layer.file().toString(),
                    agent.state.resolve("devices/../../x").toString(), "sha256:x"));
            assertEquals(Response.Failure.INVALID_REQUEST, dotdot.error().code());
            c.call(new Request.MountDevice(layer.file().toString(), agent.state.resolve("devices/l0").toString(), layer.rootHash()), Result.Done.class);
            Path overlay = agent.state.resolve("containers/h/rootfs");
            c.call(new Request.MountOverlay("h", List.of(agent.state.resolve("devices/l0").toString()), overlay.toString()), Result.Done.class);
            Response hostMount = c.exchange(new Request.CreateContainer("h", overlay.toString(), List.of("sh"), List.of(), "/",
                    null, null, List.of(new Request.Mount("/host", "/etc", "bind", List.of("rbind"))), null, true, null));
            assertEquals(Response.Failure.INVALID_REQUEST, hostMount.error().code());
            assertTrue(hostMount.error().reason().contains("may not mount its own paths"), hostMount.error().reason());
            assertFalse(Files.exists(agent.state.resolve("containers/h/bundle")));
            Response unknown = c.exchange(new Request.StartContainer("nope"));
            assertEquals(Response.Failure.NOT_FOUND, unknown.error().code());
            Response badId = c.exchange(new Request.StartContainer("../x"));
            assertEquals(Response.Failure.INVALID_REQUEST, badId.error().code());
            Response notMounted = c.exchange(new Request.MountOverlay("k", List.of(agent.state.resolve("devices/l9").toString()),
                    agent.state.resolve("containers/k/rootfs").toString()));
            assertTrue(notMounted.error().reason().contains("not mounted"), notMounted.error().reason());
        }
    }

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

    static List<String> processesMentioning(String text) throws Exception {
        List<String> found = new java.util.ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                    if (cmd.contains(text) && !cmd.contains("surefire")) found.add(p.getFileName() + ": " + cmd);
                } catch (java.io.IOException ignored) {
                    // the process exited while we looked
                }
            }
        }
        return found;
    }
}
