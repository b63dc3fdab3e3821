package dev.coffer.cli.attest;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** {@code coffer attest snp-measure} on the sev-snp-measure vectors and their firmware fixtures, text and JSON. */
class AttestSnpMeasureCommandTest {
    static final Path DIR = AttestCommandTest.DATA.resolve("snp-measure");
    static final String AMDSEV = DIR.resolve("ovmf_AmdSev_suffix.bin").toString();
    static final String OVMFX64 = DIR.resolve("ovmf_OvmfX64_suffix.bin").toString();
    static final String DEFAULT_0X21 = "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977";

    @TempDir
    static Path tmp;

    static String emptyFile() throws IOException {
        Path f = tmp.resolve("empty");
        if (!Files.exists(f)) Files.createFile(f);
        return f.toString();
    }

    static Stream<Arguments> vectors() throws IOException {
        JsonNode root = new ObjectMapper().readTree(DIR.resolve("vectors.json").toFile());
        List<Arguments> all = new ArrayList<>();
        root.get("vectors").forEach(v -> all.add(Arguments.of(v.get("id").asText(), v)));
        return all.stream();
    }

    /** The vector as a user types it. */
    static List<String> args(JsonNode v) throws IOException {
        List<String> a = new ArrayList<>(List.of("attest", "snp-measure"));
        String mode = v.has("fn") ? "snp:ovmf-hash" : switch (v.get("mode").asText().split(" ")[0]) {
            case "SEV_SNP" -> "snp";
            case "SEV_ES" -> "seves";
            default -> "sev";
        };
        a.addAll(List.of("--mode", mode, "--ovmf", DIR.resolve(v.get("ovmf").asText()).toString()));
        if (v.has("vcpus")) a.addAll(List.of("--vcpus", v.get("vcpus").asText()));
        else if (mode.equals("snp")) a.addAll(List.of("--vcpus", "1"));
        if (v.has("vcpu_type")) a.addAll(List.of("--vcpu-type", v.get("vcpu_type").asText()));
        else if (mode.equals("snp")) a.addAll(List.of("--vcpu-type", "EPYC-v4"));
        if (v.has("vmm")) a.addAll(List.of("--vmm-type", v.get("vmm").asText()));
        if (v.has("guest_features") && v.get("guest_features").asText().startsWith("0x")) {
            a.addAll(List.of("--guest-features", v.get("guest_features").asText()));
        }
        if (v.hasNonNull("snp_ovmf_hash")) a.addAll(List.of("--snp-ovmf-hash", v.get("snp_ovmf_hash").asText()));
        if (v.hasNonNull("kernel")) a.addAll(List.of("--kernel", emptyFile()));
        if (v.hasNonNull("initrd")) a.addAll(List.of("--initrd", emptyFile()));
        if (v.hasNonNull("cmdline") && !v.get("cmdline").asText().isEmpty()) a.addAll(List.of("--append", v.get("cmdline").asText()));
        return a;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void everyVectorThroughTheCommandLine(String id, JsonNode v) throws IOException {
        CliRun r = AttestCommandTest.run(args(v).toArray(String[]::new));
        if (v.has("expected_error")) {
            assertEquals(1, r.exit(), r.out() + r.err());
            assertTrue(r.err().contains("no SNP_KERNEL_HASHES section") && r.err().contains("AmdSevX64.dsc"), r.err());
            assertEquals("", r.out());
            return;
        }
        assertEquals(0, r.exit(), id + ": " + r.err());
        assertEquals(v.get("expected").asText() + System.lineSeparator(), r.out(), "the MEASUREMENT alone, on its own line");
    }

    @Test
    void jsonWithVerboseCarriesThePageLogEndingInTheMeasurement() throws IOException {
        CliRun r = AttestCommandTest.run("attest", "snp-measure", "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4",
                "--guest-features", "0x21", "--ovmf", AMDSEV, "--kernel", emptyFile(), "--initrd", emptyFile(),
                "--append", "console=ttyS0 loglevel=7", "-o", "json", "--verbose");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("snp", j.get("mode").asText());
        assertEquals(96, j.get("measurement").asText().length());
        assertEquals("0x00800f12", j.get("vcpu_sig").asText());
        assertEquals("0x21", j.get("guest_features").asText());
        assertTrue(j.get("ovmf").get("kernel_hashes").asBoolean());
        assertEquals("0x80b004", j.get("ovmf").get("ap_reset_eip").asText());
        assertEquals(7, j.get("ovmf").get("sev_metadata_sections").size());
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", j.get("direct_boot").get("kernel_sha256").asText());
        JsonNode log = j.get("log");
        // 1 firmware page, 9+3+15 SEC pages, secrets, CPUID, CAA, kernel hashes, 2 VMSAs.
        assertEquals(1 + 27 + 4 + 2, log.size());
        assertEquals("NORMAL", log.get(0).get("page_type").asText());
        assertEquals("0xfffff000", log.get(0).get("gpa").asText());
        JsonNode hashes = null;
        for (JsonNode page : log) if (page.get("gpa").asText().equals("0x810000")) hashes = page;
        assertNotNull(hashes, "the kernel hashes page (0x810000) is in the log");
        assertEquals("NORMAL", hashes.get("page_type").asText(), "the kernel hashes page, with a kernel, is a NORMAL page");
        assertEquals("VMSA", log.get(log.size() - 1).get("page_type").asText());
        assertEquals(j.get("measurement").asText(), log.get(log.size() - 1).get("digest").asText());

        // Without --verbose: no log; text with --verbose: the log lines, then the MEASUREMENT last.
        CliRun plain = AttestCommandTest.run("attest", "snp-measure", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
                "--guest-features", "0x21", "--ovmf", AMDSEV, "--kernel", emptyFile(), "--initrd", emptyFile(),
                "--append", "console=ttyS0 loglevel=7", "-o", "json");
        assertNull(new ObjectMapper().readTree(plain.out()).get("log"));
        assertEquals(DEFAULT_0X21, new ObjectMapper().readTree(plain.out()).get("measurement").asText());
        CliRun text = AttestCommandTest.run("attest", "snp-measure", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
                "--guest-features", "0x21", "--ovmf", AMDSEV, "--kernel", emptyFile(), "--initrd", emptyFile(),
                "--append", "console=ttyS0 loglevel=7", "--verbose");
        List<String> lines = text.out().lines().toList();
        assertEquals(DEFAULT_0X21, lines.getLast());
        assertTrue(lines.getFirst().startsWith("NORMAL") && lines.getFirst().contains("gpa 0x0000fffff000"), lines.getFirst());
    }

    @Test
    void seveAndSevPrint64HexDigitsAndTheirBlobs() throws IOException {
        CliRun r = AttestCommandTest.run("attest", "snp-measure", "--mode", "seves", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
                "--ovmf", AMDSEV, "-o", "json", "--verbose");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(64, j.get("measurement").asText().length());
        assertEquals(List.of("firmware", "vmsa-0"), j.get("log").findValuesAsText("blob"));
        assertNull(j.get("guest_features"), "SEV-ES VMSAs carry no SEV_FEATURES");
    }

    @Test
    void usageErrorsSayWhatIsMissing() throws IOException {
        record Case(String expected, String... args) {}
        for (Case c : List.of(
                new Case("--initrd needs --kernel", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", AMDSEV, "--initrd", emptyFile()),
                new Case("--vcpus N is required", "--vcpu-type", "EPYC", "--ovmf", AMDSEV),
                new Case("give --vcpu-type", "--vcpus", "1", "--ovmf", AMDSEV),
                new Case("unknown vCPU type 'EPYC-Zen9'", "--vcpus", "1", "--vcpu-type", "EPYC-Zen9", "--ovmf", AMDSEV),
                new Case("one of --vcpu-type, --vcpu-sig", "--vcpus", "1", "--vcpu-type", "EPYC", "--vcpu-sig", "0x800f12", "--ovmf", AMDSEV),
                new Case("--snp-ovmf-hash applies to --mode snp only", "--mode", "seves", "--vcpus", "1", "--vcpu-type", "EPYC",
                        "--snp-ovmf-hash", "00".repeat(48), "--ovmf", AMDSEV),
                new Case("--snp-ovmf-hash expects 96 hex digits", "--vcpus", "1", "--vcpu-type", "EPYC", "--snp-ovmf-hash", "abcd", "--ovmf", AMDSEV),
                new Case("unknown mode 'tdx'", "--mode", "tdx", "--ovmf", AMDSEV),
                new Case("unknown VMM type 'xen'", "--vcpus", "1", "--vmm-type", "xen", "--ovmf", AMDSEV),
                new Case("out of range", "--vcpus", "0", "--vcpu-type", "EPYC", "--ovmf", AMDSEV),
                new Case("--guest-features expects a hex value written with 0x", "--vcpus", "1", "--vcpu-type", "EPYC",
                        "--guest-features", "21", "--ovmf", AMDSEV),
                new Case("--vcpu-sig expects a hex value written with 0x", "--vcpus", "1", "--vcpu-sig", "800f12", "--ovmf", AMDSEV),
                new Case("--vcpu-family, --vcpu-model and --vcpu-stepping go together", "--vcpus", "1", "--vcpu-family", "25",
                        "--ovmf", AMDSEV))) {
            List<String> a = new ArrayList<>(List.of("attest", "snp-measure"));
            a.addAll(List.of(c.args()));
            CliRun r = AttestCommandTest.run(a.toArray(String[]::new));
            assertEquals(2, r.exit(), c.expected() + ": " + r.err());
            assertTrue(r.err().contains(c.expected()), "expected '" + c.expected() + "' in: " + r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void ec2AndGceNeedNoSignatureAndGiveTheirOwnMeasurement() {
        CliRun ec2 = AttestCommandTest.run("attest", "snp-measure", "--vcpus", "2", "--vmm-type", "ec2", "--ovmf", AMDSEV);
        CliRun gce = AttestCommandTest.run("attest", "snp-measure", "--vcpus", "2", "--vmm-type", "GCE", "--ovmf", AMDSEV);
        assertEquals(0, ec2.exit(), ec2.err());
        assertEquals(0, gce.exit(), gce.err());
        assertNotEquals(ec2.out(), gce.out());
        assertTrue(ec2.out().strip().matches("[0-9a-f]{96}"), ec2.out());
    }

    @Test
    void firmwareProblemsAreFailuresNamingTheFile(@TempDir Path dir) throws IOException {
        CliRun missing = AttestCommandTest.run("attest", "snp-measure", "--vcpus", "1", "--vcpu-type", "EPYC",
                "--ovmf", dir.resolve("OVMF.fd").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("OVMF.fd does not exist"), missing.err());

        Path truncated = dir.resolve("truncated.fd");
        Files.write(truncated, java.util.Arrays.copyOf(Files.readAllBytes(Path.of(AMDSEV)), 1000));
        CliRun t = AttestCommandTest.run("attest", "snp-measure", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", truncated.toString());
        assertEquals(1, t.exit());
        assertTrue(t.err().contains("truncated.fd") && t.err().contains("1000 bytes"), t.err());

        CliRun noKernel = AttestCommandTest.run("attest", "snp-measure", "--vcpus", "1", "--vcpu-type", "EPYC",
                "--ovmf", AMDSEV, "--kernel", dir.resolve("vmlinuz").toString());
        assertEquals(1, noKernel.exit());
        assertTrue(noKernel.err().contains("vmlinuz does not exist"), noKernel.err());
    }

    @Test
    void helpTeachesTheFlags() {
        CliRun r = AttestCommandTest.run("attest", "snp-measure", "--help");
        assertEquals(0, r.exit());
        for (String flag : List.of("--mode", "--vcpus", "--vcpu-type", "--vcpu-sig", "--vmm-type", "--ovmf", "--kernel", "--initrd",
                "--append", "--guest-features", "--snp-ovmf-hash", "--output", "snp:ovmf-hash", "EPYC-Milan")) {
            assertTrue(r.out().contains(flag), "missing " + flag);
        }
    }
}
