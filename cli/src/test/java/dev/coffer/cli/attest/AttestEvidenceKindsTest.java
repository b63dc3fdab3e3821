package dev.coffer.cli.attest;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.attest.evidence.EvidenceKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.coffer.cli.attest.AttestCommandTest.GO;
import static dev.coffer.cli.attest.AttestCommandTest.GO_AT;
import static dev.coffer.cli.attest.AttestCommandTest.data;
import static dev.coffer.cli.attest.AttestCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code coffer attest verify} goes through the one evidence verifier: the kind it reports is the
 * one the chain proves, simulated evidence is refused unless --trust-sim asked for it, and trusting
 * sim never turns hardware evidence into simulated. {@code attest bench --mode} lists the hardware
 * kinds the model declares.
 */
class AttestEvidenceKindsTest {
    @TempDir
    Path tmp;
    private String savedUserHome;

    @BeforeEach
    void isolateHome() {
        assumeTrue(System.getenv("COFFER_HOME") == null, "COFFER_HOME is set; these tests need their own home");
        savedUserHome = System.getProperty("user.home");
        System.setProperty("user.home", tmp.resolve("user").toString());
    }

    @AfterEach
    void restoreHome() {
        if (savedUserHome != null) System.setProperty("user.home", savedUserHome);
    }

    @Test
    void hardwareEvidenceStaysHardwareWhenTheSimChainIsAlsoTrusted() throws Exception {
        Path sim = tmp.resolve("sim-tee");
        Path out = tmp.resolve("sim-out");
        Path policy = Files.writeString(tmp.resolve("policy.rego"), "package policy\n");
        assertEquals(0, run("attest", "sim-report", "--sim-dir", sim.toString(), "--out", out.toString(), "--policy", policy.toString()).exit());

        CliRun r = run("attest", "verify", "--report", data(GO + "attestation.bin"), "--vcek", data(GO + "vcek.der"),
                "--chain", data("amd-roots/ask_ark_milan.pem"), "--at", GO_AT, "--allow-debug", "--trust-sim", "--sim-dir", sim.toString(),
                "-o", "json");
        assertEquals(0, r.exit(), r.out() + r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("real", j.at("/verdict/tee").asText());
        assertEquals(EvidenceKind.SEV_SNP.label(), j.at("/verdict/kind").asText());
        assertTrue(checkPassed(j, "evidence_kind"), r.out());
    }

    @Test
    void simulatedEvidenceIsItsOwnKindAndRefusedWithoutTrustSim() throws Exception {
        Path sim = tmp.resolve("sim-tee");
        Path out = tmp.resolve("sim-out");
        Path policy = Files.writeString(tmp.resolve("policy.rego"), "package policy\n");
        assertEquals(0, run("attest", "sim-report", "--sim-dir", sim.toString(), "--out", out.toString(), "--policy", policy.toString()).exit());
        String report = out.resolve("report.bin").toString();

        CliRun trusted = run("attest", "verify", "--report", report, "--trust-sim", "--sim-dir", sim.toString(), "-o", "json");
        assertEquals(0, trusted.exit(), trusted.out() + trusted.err());
        JsonNode t = new ObjectMapper().readTree(trusted.out());
        assertEquals(EvidenceKind.SIMULATED.label(), t.at("/verdict/kind").asText());

        // the chain the sim processor hands out, presented without --trust-sim: the caller never asked for sim
        CliRun refused = run("attest", "verify", "--report", report, "--vcek", out.resolve("vcek.pem").toString(),
                "--chain", out.resolve("cert_chain.pem").toString(), "-o", "json");
        assertEquals(1, refused.exit(), refused.out() + refused.err());
        JsonNode f = new ObjectMapper().readTree(refused.out());
        assertFalse(f.at("/verdict/valid").asBoolean());
        assertEquals(EvidenceKind.SIMULATED.label(), f.at("/verdict/kind").asText());
        String detail = detailOf(f, "simulated_requested");
        assertTrue(detail.startsWith("expected hardware evidence, found evidence from a simulated secure processor"), refused.out());
        assertTrue(detail.contains("--trust-sim"), detail);
    }

    @Test
    void benchModesAreTheDeclaredHardwareKinds() {
        String modes = String.join(", ", Arrays.stream(EvidenceKind.values()).filter(EvidenceKind::hardware).map(EvidenceKind::label).toList());
        assertEquals("snp, sgx, tdx", modes);
        CliRun help = run("attest", "bench", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().replaceAll("\\s+", " ").contains(modes + " (default: snp)"), help.out());
        for (String notAMode : new String[] {"sim", "sev", "SNP"}) {
            CliRun r = run("attest", "bench", "--mode", notAMode, "--seconds", "1");
            assertEquals(2, r.exit(), notAMode + ": " + r.out() + r.err());
            assertTrue(r.err().contains("--mode expects snp, sgx or tdx, found '" + notAMode + "'"), r.err());
        }
    }

    private static boolean checkPassed(JsonNode j, String name) {
        for (JsonNode c : j.at("/verdict/checks")) if (c.get("name").asText().equals(name)) return c.get("status").asText().equals("pass");
        return false;
    }

    private static String detailOf(JsonNode j, String name) {
        for (JsonNode c : j.at("/verdict/checks")) if (c.get("name").asText().equals(name)) return c.get("detail").asText();
        return "";
    }
}
