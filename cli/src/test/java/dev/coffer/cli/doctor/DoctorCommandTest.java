package dev.coffer.cli.doctor;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.Json;
import dev.coffer.runtime.preflight.HostProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DoctorCommandTest {
    @TempDir
    Path home;
    @TempDir
    Path root;

    CliRun run(Supplier<HostProbe> host, String... args) {
        CommandLine cli = new CommandLine(new CofferCommand()).addSubcommand(new DoctorCommand(() -> home, host));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof CofferException ce) {
                cmd.getErr().println("coffer: " + ce.getMessage());
                return ce.exitCode();
            }
            throw e;
        });
        return CliRun.execute(cli, args);
    }

    @Test
    void thisHostIsCheckedForEveryIsolationAndTee() throws Exception {
        CliRun r = run(HostProbe::host, "doctor", "-o", "json");
        JsonNode doc = Json.MAPPER.readTree(r.out());
        List<String> names = new ArrayList<>();
        doc.path("features").forEach(f -> names.add(f.path("name").asText()));
        assertEquals(List.of("process", "microvm", "sim", "snp"), names, r.out());
        JsonNode snp = doc.path("features").get(3);
        for (JsonNode c : snp.path("checks")) {
            assertFalse(c.path("name").asText().isEmpty());
            assertTrue(List.of("ok", "missing", "skipped").contains(c.path("status").asText()), c.toString());
            if (c.path("status").asText().equals("missing")) assertFalse(c.path("fix").asText().isEmpty(), c.toString());
        }
        assertTrue(doc.path("features").get(2).path("ready").asBoolean(), "the simulated TEE is always there");
        assertEquals(doc.path("ready").asBoolean() ? 0 : 1, r.exit());
        if (!Files.exists(Path.of("/dev/sev"))) {
            assertFalse(snp.path("ready").asBoolean());
            CliRun text = run(HostProbe::host, "doctor");
            assertEquals(1, text.exit());
            assertTrue(text.out().contains("snp tee: NOT READY") && text.out().contains("sim tee: ready"), text.out());
            assertTrue(text.out().strip().endsWith("tee snp") || text.out().contains("not available: "), text.out());
            assertTrue(text.out().contains("MISSING  /dev/sev"), text.out());
        }
    }

    @Test
    void anEmptyHostTreeHasNothingAndSaysWhatToInstall() {
        CliRun r = run(() -> new HostProbe(root, HostProbe.QEMU, List.of(root.resolve("bin"))), "doctor", "--vcpus", "2");
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.out().contains("process isolation: NOT READY") && r.out().contains("neither runc nor crun"), r.out());
        assertTrue(r.out().contains("microvm isolation: NOT READY") && r.out().contains("apt-get install qemu-system-x86"), r.out());
        assertTrue(r.out().contains("coffer guest build"), r.out());
        assertTrue(r.out().contains("not available: isolation process, isolation microvm, tee snp"), r.out());
    }

    @Test
    void aBadSnpOptionIsAUsageError() {
        CliRun r = run(HostProbe::host, "doctor", "--memory", "100");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("at least 512 MiB"), r.err());
    }
}
