package dev.coffer.cli.demo;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.cli.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the real demo (real runc, real containers) in-process, as a user would with -o json. */
class DemoCommandTest {
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
    void demoRunsEveryStepAndReportsJson() throws Exception {
        CliRun run = coffer("demo", "-o", "json", "--isolation", "process");
        JsonNode report = new ObjectMapper().readTree(run.out());
        assertEquals(0, run.exit(), run.out() + run.err());
        assertEquals("process", report.get("isolation").asText());
        assertEquals("sim", report.get("tee").asText());
        List<String> names = new ArrayList<>();
        boolean noDeviceMapper = dev.coffer.agent.volume.EncryptedVolume.unavailableReason() != null;
        for (JsonNode step : report.get("steps")) {
            names.add(step.get("name").asText());
            boolean skippable = noDeviceMapper && step.get("name").asText().equals("encrypted-volume-mounted");
            // a step that could not run is never reported as succeeded
            assertEquals(!skippable, step.get("ok").asBoolean(), step.toString());
            assertEquals(skippable, step.get("skipped").asBoolean(), step.toString());
            assertFalse(step.get("detail").asText().isBlank(), step.toString());
        }
        assertEquals(List.of("image-built", "image-imported", "policy-generated", "group-started", "policy-enforced",
                "client-reached-server", "hostile-request-denied", "attested", "key-released", "key-refused-unendorsed-guest",
                "key-refused-modified-policy", "encrypted-volume-mounted", "group-stopped"), names);
        String volume = detail(report, "encrypted-volume-mounted");
        if (noDeviceMapper) {
            // this host has no dm-crypt: the step is skipped, saying why and where it runs
            assertTrue(volume.startsWith("skipped: dm-crypt is unavailable") && volume.contains("--isolation microvm"), volume);
        } else {
            assertTrue(volume.contains("wrote and read /data/secret.txt") && volume.contains("only ciphertext"), volume);
            assertTrue(volume.matches("(?s).*checked the LUKS2 header its policy pins \\(sha256 [0-9a-f]{64}\\).*"), volume);
        }
        String hostile = detail(report, "hostile-request-denied");
        assertTrue(hostile.contains("exec_in_container denied"), hostile);
        // the scratch is reported as what it was: unencrypted here (no device-mapper), with the reason; never encrypted when it was not
        String cannotEncrypt = dev.coffer.agent.volume.ScratchVolume.fileUnavailableReason();
        JsonNode scratch = report.get("scratch");
        assertEquals(cannotEncrypt == null, scratch.get("encrypted").asBoolean(), report.toString());
        String started = detail(report, "group-started");
        if (cannotEncrypt != null) {
            assertTrue(scratch.get("detail").asText().startsWith("UNENCRYPTED") && scratch.get("detail").asText().contains(cannotEncrypt),
                    scratch.toString());
            assertTrue(started.contains("scratch UNENCRYPTED") && started.contains("allow_unencrypted_scratch"), started);
            assertFalse(started.contains("scratch encrypted"), started);
        } else {
            assertTrue(started.contains("scratch encrypted (LUKS2"), started);
        }
        String enforced = detail(report, "policy-enforced");
        assertTrue(enforced.contains("enforces the generated policy"), enforced);
        String attested = detail(report, "attested");
        assertTrue(attested.contains("x-coffer-tee=sim") && attested.contains("measurement ") && attested.contains("host data "), attested);
        assertTrue(attested.contains("coffer-compliant-guest"), attested);
        assertTrue(detail(report, "key-released").contains("= the vault key's"), report.toString());
        String unendorsed = detail(report, "key-refused-unendorsed-guest");
        assertTrue(unendorsed.contains("measurement_not_endorsed") && unendorsed.contains("no key"), unendorsed);
        assertTrue(detail(report, "key-refused-modified-policy").contains("x-ms-sevsnpvm-hostdata"), report.toString());
        // The demo leaves no group behind: its directory is gone.
        assertFalse(Files.exists(home.resolve("groups").resolve(DemoRun.GROUP)));
        assertFalse(Files.exists(home.resolve("groups").resolve(DemoTrust.MODIFIED_GROUP)));
    }

    @Test
    void demoRunsEveryStepInAMicroVm() throws Exception {
        CliRun run = coffer("demo", "-o", "json", "--isolation", "microvm");
        assertEquals(0, run.exit(), run.out() + run.err());
        JsonNode report = new ObjectMapper().readTree(run.out());
        assertEquals("microvm", report.get("isolation").asText());
        List<String> names = new ArrayList<>();
        // the authenticated volume is made on the host with dm-integrity: without device-mapper here the step is skipped
        boolean noDeviceMapper = dev.coffer.agent.volume.EncryptedVolume.unavailableReason() != null;
        for (JsonNode step : report.get("steps")) {
            names.add(step.get("name").asText());
            boolean skippable = noDeviceMapper && step.get("name").asText().equals("encrypted-volume-mounted");
            assertEquals(!skippable, step.get("ok").asBoolean(), step.toString());
        }
        assertEquals(List.of("guest-ready", "image-built", "image-imported", "policy-generated", "group-started",
                "policy-enforced", "client-reached-server", "hostile-request-denied", "attested", "key-released",
                "key-refused-unendorsed-guest", "key-refused-modified-policy", "encrypted-volume-mounted", "group-stopped"), names);
        // startup beside a bare boot of the same guest in the same run
        assertTrue(report.get("steps").get(0).get("detail").asText().contains("bare boot to init"), report.toString());
        String started = detail(report, "group-started");
        assertTrue(started.contains("over the bare boot") && started.contains("kernel to init"), started);
        // a microVM's guest always encrypts its scratch disk, and the report says so
        assertTrue(report.get("scratch").get("encrypted").asBoolean(), report.toString());
        assertTrue(started.contains("scratch encrypted (LUKS2"), started);
        String volume = detail(report, "encrypted-volume-mounted");
        if (noDeviceMapper) {
            assertTrue(volume.startsWith("skipped: ") && volume.contains("authenticated (dm-integrity) volume"), volume);
        } else {
            assertTrue(volume.contains("wrote and read /data/secret.txt") && volume.contains("only ciphertext"), volume);
        }
        assertFalse(Files.exists(home.resolve("groups").resolve(DemoTrust.VOLUME_GROUP)));
        assertEquals("sim", report.get("tee").asText());
        // the key left the vault for the VM through its restricted network, and only for the right policy
        assertTrue(detail(report, "key-released").contains("= the vault key's"), report.toString());
        assertTrue(detail(report, "key-refused-unendorsed-guest").contains("measurement_not_endorsed"), report.toString());
        assertTrue(detail(report, "key-refused-modified-policy").contains("x-ms-sevsnpvm-hostdata"), report.toString());
        assertFalse(Files.exists(home.resolve("groups").resolve(DemoTrust.MODIFIED_GROUP)));
        // the token carries the VM's measurement: kernel, initramfs, command line, agent disk
        assertTrue(detail(report, "attested").contains("x-coffer-tee=sim"), report.toString());
        assertTrue(detail(report, "hostile-request-denied").contains("exec_in_container denied"));
        assertFalse(Files.exists(home.resolve("groups").resolve(DemoRun.GROUP)));
    }

    static String detail(JsonNode report, String step) {
        for (JsonNode s : report.get("steps")) {
            if (s.get("name").asText().equals(step)) return s.get("detail").asText();
        }
        throw new AssertionError("no step " + step + " in " + report);
    }

    @Test
    void unknownIsolationIsAUsageError() {
        CliRun run = coffer("demo", "--isolation", "vm");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("--isolation expects process, microvm or auto; found 'vm'"), run.err());
    }

    @Test
    void versionAndHelpWork() {
        CliRun version = coffer("--version");
        assertEquals(0, version.exit());
        assertTrue(version.out().startsWith("coffer "), version.out());
        CliRun help = coffer("demo", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("Examples:"), help.out());
        CliRun unknown = coffer("frobnicate");
        assertEquals(2, unknown.exit());
    }
}
