package dev.coffer.agent.tee;

import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TEE inputs a launch disk carries, turned hostile: {@code tee none} where a secure processor
 * is present, simulated-chip file names that are paths, a context sealed for another group or
 * altered. Each is refused naming what is wrong, and nothing is written.
 */
class LaunchTeeInputsTest {
    static final String POLICY = "package policy\napi_version := \"0.10.0\"\n";
    @TempDir
    static Path home;
    static SimulatedSecureProcessor chip;
    static Map<String, String> chipFiles;
    static String context;

    @BeforeAll
    static void chip() throws Exception {
        chip = SimulatedSecureProcessor.openOrCreate(home.resolve("host-sim-tee"));
        byte[] measurement = new byte[48];
        Arrays.fill(measurement, (byte) 0x33);
        Path file = home.resolve("launch-context.json");
        SimLaunchContext.create(chip, "web", measurement, HostData.ofPolicy(POLICY.getBytes(StandardCharsets.UTF_8)), file);
        context = Files.readString(file);
        chipFiles = new TreeMap<>();
        for (String name : SimulatedSecureProcessor.FILES) {
            chipFiles.put(name, Base64.getEncoder().encodeToString(Files.readAllBytes(chip.directory().resolve(name))));
        }
    }

    @Test
    void teeNoneIsRefusedWhereASecureProcessorIsPresent(@TempDir Path root) throws Exception {
        assertTrue(TeeSources.open("none", null, "web", root, null).isEmpty(), "no secure processor: none is the truth");
        for (String device : new String[] {"dev/sev-guest", "dev/tdx_guest", "sys/kernel/config/tsm/report",
                "run/coffer-sim-tee/vcek.pem"}) {
            Path fake = Files.createTempDirectory(root, "machine");
            Files.createDirectories(fake.resolve(device).getParent());
            if (device.endsWith("report")) Files.createDirectories(fake.resolve(device));
            else Files.createFile(fake.resolve(device));
            TeeException e = assertThrows(TeeException.class, () -> TeeSources.open("none", null, "web", fake, null), device);
            assertTrue(e.getMessage().contains("found tee none") && e.getMessage().contains("/" + device), e.getMessage());
        }
    }

    @Test
    void teeSimIsRefusedWhereRealHardwareIsPresent(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve("dev"));
        Files.createFile(root.resolve("dev/sev-guest"));
        TeeException e = assertThrows(TeeException.class,
                () -> TeeSources.open("sim", home.resolve("launch-context.json"), "web", root, null));
        assertTrue(e.getMessage().contains("found tee sim") && e.getMessage().contains("/dev/sev-guest"), e.getMessage());
    }

    @Test
    void theChipGoesToTheFixedDirectoryUnderItsFixedNamesAfterTheSealCheck(@TempDir Path dir) throws Exception {
        Path chipDir = dir.resolve("coffer-sim-tee");
        Path contextFile = dir.resolve("launch-context.json");
        SimTeeFiles.install(chipFiles, context, "web", chipDir, contextFile);
        try (var listed = Files.list(chipDir)) {
            assertEquals(new java.util.TreeSet<>(SimulatedSecureProcessor.FILES),
                    new java.util.TreeSet<>(listed.map(p -> p.getFileName().toString()).toList()));
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(chipDir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(chipDir.resolve("vcek-key.pem"))));
        // the agent loads the chip from the fixed directory, not from the host's path inside the context
        assertFalse(Files.readString(contextFile).contains(chipDir.toString()));
        var tee = SimLaunchContext.open(contextFile, "web", chipDir);
        TeeSources.requirePolicyBound(tee, POLICY.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aChipFileNamedByAPathIsRefusedAndNothingIsWritten(@TempDir Path dir) throws Exception {
        Path chipDir = dir.resolve("coffer-sim-tee");
        Path contextFile = dir.resolve("launch-context.json");
        for (String hostile : new String[] {"../../etc/cron.d/evil", "/etc/passwd", "sub/vcek.pem", "README"}) {
            Map<String, String> files = new TreeMap<>(chipFiles);
            files.put(hostile, Base64.getEncoder().encodeToString("x".getBytes(StandardCharsets.UTF_8)));
            TeeException e = assertThrows(TeeException.class,
                    () -> SimTeeFiles.install(files, context, "web", chipDir, contextFile), hostile);
            assertTrue(e.getMessage().contains("simTee") && e.getMessage().contains(hostile), e.getMessage());
        }
        Map<String, String> missing = new TreeMap<>(chipFiles);
        missing.remove("vcek-key.pem");
        TeeException e = assertThrows(TeeException.class, () -> SimTeeFiles.install(missing, context, "web", chipDir, contextFile));
        assertTrue(e.getMessage().contains("missing [vcek-key.pem]"), e.getMessage());
        assertFalse(Files.exists(chipDir), "nothing written for a refused disk");
        assertFalse(Files.exists(contextFile));
        assertFalse(Files.exists(dir.getParent().resolve("etc")));
    }

    @Test
    void aContextForAnotherGroupOrAlteredOrFromAnotherChipIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
        Path chipDir = dir.resolve("coffer-sim-tee");
        Path contextFile = dir.resolve("launch-context.json");
        TeeException group = assertThrows(TeeException.class,
                () -> SimTeeFiles.install(chipFiles, context, "db", chipDir, contextFile));
        assertTrue(group.getMessage().contains("made for group \"web\""), group.getMessage());
        String altered = context.replaceFirst("\"hostData\" : \"[0-9a-f]{64}\"", "\"hostData\" : \"" + "ab".repeat(32) + "\"");
        assertFalse(altered.equals(context), "the test edits the context");
        TeeException edit = assertThrows(TeeException.class,
                () -> SimTeeFiles.install(chipFiles, altered, "web", chipDir, contextFile));
        assertTrue(edit.getMessage().contains("seal"), edit.getMessage());
        SimulatedSecureProcessor other = SimulatedSecureProcessor.openOrCreate(dir.resolve("other-chip"));
        Map<String, String> foreign = new TreeMap<>(chipFiles);
        foreign.put("vcek.pem", Base64.getEncoder().encodeToString(Files.readAllBytes(other.directory().resolve("vcek.pem"))));
        TeeException chipSwap = assertThrows(TeeException.class,
                () -> SimTeeFiles.install(foreign, context, "web", chipDir, contextFile));
        assertTrue(chipSwap.getMessage().contains("not this simulated chip's"), chipSwap.getMessage());
        assertFalse(Files.exists(chipDir));
        assertFalse(Files.exists(contextFile));
    }
}
