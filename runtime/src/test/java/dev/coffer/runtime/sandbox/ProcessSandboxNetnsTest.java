package dev.coffer.runtime.sandbox;

import dev.coffer.agent.container.Mounts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The process sandbox's clean-up ends every process of the group's network namespace (an agent
 * that died leaves its containers there). With pod networking that namespace is one the host
 * named, so the clean-up must never take the host's own for the group's: were it bound at the
 * group's netns file, ending "the group's processes" would end every process on the host.
 */
class ProcessSandboxNetnsTest {
    @TempDir
    Path dir;

    @AfterEach
    void unmount() {
        for (Path m : Mounts.mountedUnder(dir)) Mounts.unmount(m);
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ": " + out);
    }

    @Test
    void theHostsNetworkNamespaceIsNeverTakenForTheGroupsAtCleanUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "binding network namespaces needs root");
        Path own = Files.createFile(dir.resolve("own"));
        run("unshare", "--net=" + own, "true");
        Path host = Files.createFile(dir.resolve("host"));
        run("mount", "--bind", "/proc/" + ProcessHandle.current().pid() + "/ns/net", host.toString());

        assertEquals("net:[" + Files.getAttribute(own, "unix:ino") + "]", ProcessSandbox.networkNamespaceId(own),
                "a namespace of the group's own is the group's");
        assertNull(ProcessSandbox.networkNamespaceId(host), "the host's namespace is never the group's");
        assertNull(ProcessSandbox.networkNamespaceId(Files.createFile(dir.resolve("unbound"))), "no namespace bound: none");
        // with the host's namespace, only processes started from the group's directory are the group's
        assertEquals(List.of(), ProcessSandbox.processesOf(dir.resolve("nothing-runs-here"), ProcessSandbox.networkNamespaceId(host)));
    }
}
