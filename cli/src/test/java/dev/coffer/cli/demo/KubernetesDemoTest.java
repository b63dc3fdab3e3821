package dev.coffer.cli.demo;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.cli.Main;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.shim.cri.PrivateContainerd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code coffer demo --kubernetes -o json} for real, in-process as a user runs it: a private
 * containerd (Debian's) with its CRI plugin, Coffer's shim on its PATH, the demo's group as a pod
 * with RuntimeHandler coffer, then nothing left on the host.
 */
class KubernetesDemoTest {
    @TempDir
    static Path home;

    @BeforeAll
    static void pointAtScratchHome() {
        System.setProperty("coffer.home", home.toString());
    }

    @AfterAll
    static void restoreHome() {
        System.clearProperty("coffer.home");
    }

    private static CliRun coffer(String... args) {
        CommandLine cli = Main.commandLine();
        return CliRun.execute(cli, args);
    }

    @Test
    void demoRunsTheGroupAsAPodThroughCriAndLeavesNothing() throws Exception {
        String unavailable = PrivateContainerd.unavailableReason();
        assumeTrue(unavailable == null, unavailable);

        CliRun run = coffer("demo", "--kubernetes", "-o", "json");
        JsonNode report = new ObjectMapper().readTree(run.out());
        assertEquals(0, run.exit(), run.out() + run.err());
        assertEquals("coffer", report.get("runtimeHandler").asText());
        assertEquals("process", report.get("isolation").asText());
        assertEquals("sim", report.get("tee").asText());
        assertTrue(report.get("scratch").has("encrypted"), report.toString());
        List<String> names = new ArrayList<>();
        for (JsonNode step : report.get("steps")) {
            names.add(step.get("name").asText());
            assertTrue(step.get("ok").asBoolean(), step.toString());
            assertFalse(step.get("skipped").asBoolean(), step.toString());
            assertFalse(step.get("detail").asText().isBlank(), step.toString());
        }
        assertEquals(List.of("containerd-started", "pod-running", "client-reached-server", "exec-denied", "attested",
                "key-released", "pod-removed", "containerd-stopped"), names);

        String running = detail(report, "pod-running");
        Matcher ms = Pattern.compile("RunPodSandbox to the first container running (\\d+) ms").matcher(running);
        assertTrue(ms.find(), running);
        System.out.println("coffer demo --kubernetes: RunPodSandbox to the first container running " + ms.group(1) + " ms");
        assertTrue(running.contains("RuntimeHandler coffer") && running.contains("io.katacontainers.config.agent.policy"), running);
        // the agent's reason, as CRI's error carries it to the caller (kubectl exec would print it)
        String denied = detail(report, "exec-denied");
        assertTrue(denied.contains("exec_in_container denied"), denied);
        assertTrue(denied.contains("CRI "), denied);
        assertTrue(detail(report, "client-reached-server").contains(DemoRun.PAGE.strip()), report.toString());
        String attested = detail(report, "attested");
        assertTrue(attested.contains("x-coffer-tee=sim") && attested.contains("coffer-compliant-guest"), attested);
        assertTrue(detail(report, "key-released").contains("= the vault key's"), report.toString());
        assertTrue(detail(report, "pod-removed").contains("nothing left"), report.toString());

        // nothing left: no group, no process or mount of this home (containerd, shim, agent, containers), no work directory
        assertEquals(List.of(), new GroupManager(home).list(), "Coffer groups left");
        List<String> strays = ProcessHandle.allProcesses().filter(p -> cmdline(p.pid()).contains(home.toString()))
                .map(p -> p.pid() + " " + cmdline(p.pid())).toList();
        assertEquals(List.of(), strays, "processes of the demo left");
        // (containerd's command line names its config under the home, a shim's its socket there, an agent its group directory)
        assertEquals(List.of(), PrivateContainerd.mountsUnder(home), "mounts left under the Coffer home");
        try (var files = Files.list(home)) {
            List<Path> work = files.filter(f -> f.getFileName().toString().startsWith("k8s-demo-")).toList();
            assertEquals(List.of(), work, "the demo's work directory is removed");
        }
    }

    @Test
    void kubernetesWithMicroVmIsRefusedBeforeAnythingIsMade() throws Exception {
        CliRun run = coffer("demo", "--kubernetes", "--isolation", "microvm");
        assertEquals(2, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("microVM pods are not supported yet"), run.err());
        assertTrue(run.err().contains("--isolation microvm"), run.err());
        assertEquals("", run.out());
        try (var files = Files.list(home)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("k8s-demo-")).toList());
        }
        CliRun bad = coffer("demo", "--kubernetes", "--isolation", "kvm");
        assertEquals(2, bad.exit(), bad.out() + bad.err());
        assertTrue(bad.err().contains("--isolation expects process, microvm or auto; found 'kvm'"), bad.err());
    }

    @Test
    void helpTeachesTheKubernetesDemo() {
        CliRun help = coffer("demo", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("--kubernetes") && help.out().contains("RuntimeHandler coffer")
                && help.out().contains("exec-denied") && help.out().contains("microVM pods are not"), help.out());
    }

    private static String detail(JsonNode report, String step) {
        for (JsonNode s : report.get("steps")) {
            if (s.get("name").asText().equals(step)) return s.get("detail").asText();
        }
        throw new AssertionError("no step " + step + " in " + report);
    }

    private static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"), StandardCharsets.ISO_8859_1).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }
}
