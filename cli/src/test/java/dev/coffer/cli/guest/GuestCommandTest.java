package dev.coffer.cli.guest;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.attest.measure.LaunchMeasurement;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GuestCommandTest {
    static final String ROOT = "ab".repeat(32);

    @TempDir
    Path home;

    CliRun run(String... args) {
        CommandLine cli = new CommandLine(new CofferCommand()).addSubcommand(new GuestCommand(() -> home));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof CofferException ce) {
                cmd.getErr().println("coffer: " + ce.getMessage());
                return ce.exitCode();
            }
            throw e;
        });
        return CliRun.execute(cli, args);
    }

    /** A guest directory with small stand-in artifacts: measure reads files, it does not boot them. */
    void writeGuest(byte[] kernel) throws Exception {
        Path dir = Files.createDirectories(home.resolve("guest"));
        Files.write(dir.resolve("vmlinux"), kernel);
        Files.write(dir.resolve("initrd.cpio"), "initrd".getBytes(StandardCharsets.UTF_8));
        Files.write(dir.resolve("agent.img"), new byte[3 * 4096]);
        Files.writeString(dir.resolve("guest.json"), """
                {"format":1,"kernelVersion":"6.1.0-test","kernel":"vmlinux","initrd":"initrd.cpio","agentDisk":"agent.img",
                 "agentRootHash":"%s","agentDataBlocks":2,"cmdline":"console=ttyS0 coffer.agentdisk=%s,2"}
                """.formatted(ROOT, ROOT));
    }

    String expected(byte[] kernel) {
        return HexFormat.of().formatHex(new LaunchMeasurement()
                .add(LaunchMeasurement.KERNEL, kernel)
                .add(LaunchMeasurement.INITRD, "initrd".getBytes(StandardCharsets.UTF_8))
                .addText(LaunchMeasurement.CMDLINE, "console=ttyS0 coffer.agentdisk=" + ROOT + ",2")
                .add("agent-disk-verity-root", HexFormat.of().parseHex(ROOT))
                .compute());
    }

    @Test
    void measurePrintsTheMeasurementOverKernelInitrdCmdlineAndRootHash() throws Exception {
        writeGuest("kernel".getBytes(StandardCharsets.UTF_8));
        CliRun r = run("guest", "measure");
        assertEquals(0, r.exit(), r.err());
        assertEquals(expected("kernel".getBytes(StandardCharsets.UTF_8)), r.out().strip());
    }

    @Test
    void aChangedKernelChangesTheMeasurement() throws Exception {
        writeGuest("kernel".getBytes(StandardCharsets.UTF_8));
        String before = run("guest", "measure").out().strip();
        writeGuest("kernel2".getBytes(StandardCharsets.UTF_8));
        String after = run("guest", "measure").out().strip();
        assertTrue(!before.equals(after), "a different kernel must give a different measurement");
        assertEquals(expected("kernel2".getBytes(StandardCharsets.UTF_8)), after);
    }

    @Test
    void measureJsonListsTheArtifacts() throws Exception {
        writeGuest("kernel".getBytes(StandardCharsets.UTF_8));
        CliRun r = run("guest", "measure", "-o", "json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertEquals(expected("kernel".getBytes(StandardCharsets.UTF_8)), j.get("measurement").asText());
        assertEquals(4, j.get("artifacts").size());
        assertEquals(ROOT, j.get("agentRootHash").asText());
    }

    @Test
    void measureSnpComputesTheSnpLaunchDigestOfTheGuestsBzImage() throws Exception {
        writeGuest(new byte[] {1, 2, 3});
        Path fixtures = Path.of(System.getProperty("coffer.shared"), "testdata/attestation/snp-measure");
        String ovmf = fixtures.resolve("ovmf_AmdSev_suffix.bin").toString();
        // a guest built before SNP support has no bzImage: told to rebuild
        CliRun old = run("guest", "measure", "--snp", "--ovmf", ovmf);
        assertEquals(1, old.exit(), old.err());
        assertTrue(old.err().contains("coffer guest build"), old.err());

        Files.write(home.resolve("guest/vmlinuz"), new byte[4096]);
        CliRun r = run("guest", "measure", "--snp", "--ovmf", ovmf, "--vcpus", "2", "--cpu-type", "EPYC-Milan");
        assertEquals(0, r.exit(), r.err());
        String measurement = r.out().strip();
        assertTrue(measurement.matches("[0-9a-f]{96}"), r.out());
        // the same as the calculator gives for exactly what the SNP command line passes
        byte[] expected = dev.coffer.attest.measure.snp.LaunchDigestCalculator.compute(dev.coffer.attest.measure.snp.LaunchInputs.snp(
                dev.coffer.attest.measure.snp.OvmfFirmware.read(Path.of(ovmf)),
                java.util.Optional.of(dev.coffer.attest.measure.snp.DirectBoot.of(new byte[4096],
                        "initrd".getBytes(StandardCharsets.UTF_8), "console=ttyS0 coffer.agentdisk=" + ROOT + ",2")),
                2, dev.coffer.attest.measure.snp.VcpuSignature.ofType("EPYC-Milan"))).measurement();
        assertEquals(HexFormat.of().formatHex(expected), measurement);
        assertNotEquals(expected(new byte[] {1, 2, 3}), measurement, "not the simulated measurement");

        CliRun json = run("guest", "measure", "--snp", "--ovmf", ovmf, "--vcpus", "2", "--cpu-type", "EPYC-Milan", "-o", "json");
        assertTrue(json.out().contains("\"measurement\" : \"" + measurement + "\"") && json.out().contains("\"cpuType\" : \"EPYC-Milan\""),
                json.out());
        // a firmware without kernel hashes cannot measure a direct-boot guest; a bad vCPU type is a usage error
        CliRun generic = run("guest", "measure", "--snp", "--ovmf", fixtures.resolve("ovmf_OvmfX64_suffix.bin").toString());
        assertEquals(1, generic.exit(), generic.err());
        assertTrue(generic.err().contains("kernel"), generic.err());
        assertEquals(2, run("guest", "measure", "--snp", "--ovmf", ovmf, "--cpu-type", "Xeon").exit());
    }

    @Test
    void measureWithoutABuiltGuestSaysToBuildOne() {
        CliRun r = run("guest", "measure");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("run `coffer guest build`"), r.err());
    }

    @Test
    void aTruncatedAgentDiskIsRefused() throws Exception {
        writeGuest("kernel".getBytes(StandardCharsets.UTF_8));
        Files.write(home.resolve("guest/agent.img"), new byte[4096]);
        CliRun r = run("guest", "measure");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("data blocks plus its hash tree"), r.err());
    }

    @Test
    void aTamperedManifestRootHashIsRefused() throws Exception {
        writeGuest("kernel".getBytes(StandardCharsets.UTF_8));
        Path m = home.resolve("guest/guest.json");
        Files.writeString(m, Files.readString(m).replaceFirst("\"agentRootHash\":\"ab", "\"agentRootHash\":\"zz"));
        CliRun r = run("guest", "measure");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("64-hex-digit"), r.err());
    }

    @Test
    void bootTestRejectsBadOptions() {
        assertEquals(2, run("guest", "boot-test", "--accel", "hvf").exit());
        assertEquals(2, run("guest", "boot-test", "--timeout", "0").exit());
    }

    @Test
    void helpHasExamples() {
        CliRun r = run("guest", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("coffer guest build"));
    }
}
