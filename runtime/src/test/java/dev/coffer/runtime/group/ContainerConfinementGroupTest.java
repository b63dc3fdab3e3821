package dev.coffer.runtime.group;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.Result;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A container of a real group (process sandbox, generated policy, the host's runc or crun) runs
 * confined as its policy says: the runtime-default seccomp filter, /sys/kernel/config and
 * /sys/kernel/security hidden, and without stdio access, no output for the host.
 */
class ContainerConfinementGroupTest {
    private static final String SPEC = """
            name: %s
            scratch: {allowUnencrypted: true} # no device-mapper here: plaintext scratch, said so
            containers:
              - name: app
                image: coffer.test/busybox:1
                command: [sleep, "3600"]
                execProcesses:
                  - command: [cat, /proc/self/status]
                  - command: [ls, -A, /sys/kernel/config, /sys/kernel/security]
              - name: quiet
                image: coffer.test/busybox:1
                command: [sleep, "3601"]
                securityContext: {allowStdioAccess: false}
                execProcesses:
                  - command: [cat, /proc/self/status]
            """;

    @TempDir
    Path home;
    @TempDir
    Path work;
    GroupManager groups;
    final List<String> started = new ArrayList<>();

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
                // already gone
            }
        }
        assertEquals(List.of(), Mounts.mountedUnder(home), "mounts left behind");
    }

    @ParameterizedTest
    @ValueSource(strings = {"runc", "crun"})
    void containersRunConfinedAsThePolicySays(String runtime) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/" + runtime)), runtime + " is not installed");
        String name = "conf-" + runtime;
        GroupSpec spec = GroupSpecParser.parse(SPEC.formatted(name), "pod.yaml");
        started.add(name);
        GroupHandle g = groups.run(spec, RunOptions.defaults().withOciRuntime(runtime));
        assertTrue(g.enforcer().startsWith("policy sha256:"), g.enforcer());
        assertTrue(g.ociRuntime().startsWith(runtime), g.ociRuntime());

        Result.ExecResult status = g.exec("app", List.of("cat", "/proc/self/status"), Duration.ofSeconds(20));
        assertEquals(0, status.exitCode(), status.stderr());
        assertTrue(status.stdout().contains("Seccomp:\t2"), "expected the seccomp filter:\n" + status.stdout());
        Result.ExecResult sys = g.exec("app", List.of("ls", "-A", "/sys/kernel/config", "/sys/kernel/security"), Duration.ofSeconds(20));
        String listed = sys.stdout().replace("/sys/kernel/config:", "").replace("/sys/kernel/security:", "").strip();
        assertEquals("", listed, "nothing under /sys/kernel/config or /sys/kernel/security: " + sys.stdout() + sys.stderr());

        // no stdio access: the process runs, the host gets its exit code and nothing else
        Result.ExecResult quiet = g.exec("quiet", List.of("cat", "/proc/self/status"), Duration.ofSeconds(20));
        assertEquals(0, quiet.exitCode());
        assertEquals("", quiet.stdout());
        assertEquals("", quiet.stderr());
    }
}
