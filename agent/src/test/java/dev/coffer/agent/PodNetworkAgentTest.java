package dev.coffer.agent;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A pod's network namespace handed to a real agent ({@code --network-namespace}), as the shim
 * passes the one containerd made through CNI: a real network namespace is adopted (bind-mounted as
 * the group's, loopback up) and only unbound on shutdown, its creator's file left alone; anything
 * else the host might name (a regular file, a missing path, a directory, a FIFO or device, another kind of
 * namespace, the host's own network namespace) is refused before the agent starts, with the
 * reason, and leaves no mount and no namespace file behind.
 */
class PodNetworkAgentTest {
    @TempDir
    Path dir;
    AgentProcess agent;
    Path podNetns;

    @AfterEach
    void cleanUp() throws Exception {
        AgentProcess.cleanUp(agent, dir);
        if (podNetns != null && Mounts.isMountPoint(podNetns)) Mounts.unmount(podNetns);
    }

    private static void assumeRoot() {
        assumeTrue("root".equals(System.getProperty("user.name")), "binding network namespaces needs root");
    }

    /** A network namespace bound at a file, as containerd's CNI setup makes /var/run/netns/cni-UUID. */
    private Path makeNamespace() throws Exception {
        Path ns = Files.createFile(Files.createDirectories(dir.resolve("cri-netns")).resolve("cni-test"));
        Process p = new ProcessBuilder("unshare", "--net=" + ns, "true").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "unshare --net failed: " + out);
        podNetns = ns;
        return ns;
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }

    @Test
    void aPodNetworkNamespaceIsAdoptedAndOnlyItsBindIsRemoved() throws Exception {
        assumeRoot();
        Path ns = makeNamespace();
        agent = AgentProcess.start(dir, "pod", "--policy", "allow-all", "--network-namespace", ns.toString());
        assertTrue(agent.process.isAlive(), "the agent did not start: " + agent.output());
        Path groupNetns = agent.state.resolve("netns");
        assertTrue(Mounts.isMountPoint(groupNetns), "expected the pod's namespace bound at " + groupNetns);
        assertEquals(Files.getAttribute(ns, "unix:ino"), Files.getAttribute(groupNetns, "unix:ino"),
                "the group's namespace is the pod's, not one of its own");
        // loopback is up inside, for the group's containers and its SKR API
        String lo = run("nsenter", "--net=" + groupNetns, "ip", "-o", "link", "show", "lo");
        assertTrue(lo.contains("UP"), lo);

        try (AgentClient c = agent.client()) {
            c.call(new Request.ShutdownSandbox(1000), dev.coffer.agent.protocol.Result.Done.class);
        }
        assertEquals(0, agent.waitExit(), agent.output());
        assertFalse(Files.exists(groupNetns), "the group's bind of the namespace is gone");
        assertEquals(List.of(), Mounts.mountedUnder(agent.state), "nothing mounted under the state directory");
        // the creator's file is its own: still the namespace, still bound
        assertTrue(Mounts.isMountPoint(ns), "the pod's namespace file (containerd's) was left alone");
    }

    @Test
    void whatIsNotAPodNetworkNamespaceIsRefusedAndLeavesNothing() throws Exception {
        assumeRoot();
        Path regular = Files.writeString(dir.resolve("not-a-namespace"), "just a file\n");
        Path directory = Files.createDirectories(dir.resolve("a-directory"));
        Path fifo = dir.resolve("a-fifo");
        run("mkfifo", fifo.toString());
        String self = Long.toString(ProcessHandle.current().pid());
        // the agent inherits this JVM's network namespace: that is the host's, which it must never adopt
        record Case(String path, String expected) {}
        List<Case> cases = List.of(
                new Case(regular.toString(), "to be a namespace file (nsfs, as /proc/PID/ns/net or containerd's"
                        + " /var/run/netns/cni-UUID), found a regular file"),
                new Case(dir.resolve("missing").toString(), "found no such file"),
                new Case(directory.toString(), "found a directory"),
                // opening a FIFO for reading would block the agent's start until a writer came
                new Case(fifo.toString(), "found a device, FIFO or socket"),
                new Case("/dev/null", "found a device, FIFO or socket"),
                new Case("/proc/" + self + "/ns/uts", "expected a network namespace at /proc/" + self + "/ns/uts, found a UTS namespace"),
                new Case("/proc/" + self + "/ns/net", "found the agent's (the host's) network namespace"),
                new Case("relative/netns", "expected the pod's network namespace as an absolute path"));
        for (Case c : cases) {
            Path caseDir = Files.createDirectories(dir.resolve("case-" + cases.indexOf(c)));
            AgentProcess refused = AgentProcess.start(caseDir, "pod", "--policy", "allow-all", "--network-namespace", c.path());
            try {
                assertEquals(3, refused.waitExit(), "expected the agent to refuse " + c.path() + ": " + refused.output());
                String output = refused.output();
                System.out.println("--network-namespace " + c.path() + ": " + output.strip());
                assertTrue(output.contains(c.expected()), "expected \"" + c.expected() + "\" in: " + output);
                assertFalse(output.contains("READY"), output);
                assertEquals(List.of(), Mounts.mountedUnder(caseDir), "nothing mounted");
                assertFalse(Files.exists(refused.state.resolve("netns")), "no namespace file left");
                assertFalse(Files.exists(refused.state.resolve("containers")), "no state prepared");
            } finally {
                refused.close();
            }
        }
        assertTrue(Files.isRegularFile(regular) && Files.isDirectory(directory), "the named files are left as they were");
    }
}
