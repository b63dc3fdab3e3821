package dev.coffer.attest.sim;

import dev.coffer.attest.TestData;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.AmdRoots;
import dev.coffer.attest.cert.CertRole;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.measure.LaunchMeasurement;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportFormatException;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.TeeKind;
import dev.coffer.attest.verify.Verdict;
import dev.coffer.attest.verify.VerifierPolicy;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.*;

class SimulatedSecureProcessorTest {
    @TempDir
    static Path home;
    static SimulatedSecureProcessor sp;
    static final byte[] MEASUREMENT = new LaunchMeasurement().addText(LaunchMeasurement.AGENT, "agent code")
            .addText(LaunchMeasurement.LAUNCH_PARAMETERS, "--isolation process").compute();
    static final byte[] HOST_DATA = HostData.ofPolicy("package policy\n");

    @BeforeAll
    static void createChip() {
        sp = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
    }

    static byte[] nonce(int seed) {
        byte[] d = new byte[64];
        Arrays.fill(d, (byte) seed);
        return d;
    }

    @Test
    void chainLooksLikeAmdsButHasItsOwnRoot() {
        assertEquals(CertRole.ARK, sp.ark().role());
        assertEquals(CertRole.ASK, sp.ask().role());
        assertEquals(CertRole.VCEK, sp.vcek().role());
        assertEquals("ARK-Coffer-Sim", sp.ark().subjectCn());
        assertTrue(AmdRoots.pinnedArk(sp.ark()).isEmpty());
        assertEquals(SimulatedSecureProcessor.PRODUCT_NAME, sp.vcek().productName().orElseThrow());
        assertArrayEquals(sp.chipId(), sp.vcek().hwId().orElseThrow());
        assertEquals(SimulatedSecureProcessor.TCB.microcode(), sp.vcek().spl(AmdCertificate.UCODE_SPL).orElseThrow());
        assertTrue(Files.isRegularFile(sp.directory().resolve("cert_chain.pem")));
    }

    @Test
    void trustedSimReportsVerifyWithTheSameVerifierAndSaySim() {
        SimLaunch launch = sp.launch(MEASUREMENT, HOST_DATA);
        SnpReport report = SnpReport.parse(launch.report(nonce(7)));
        assertEquals(3, report.version());
        assertArrayEquals(nonce(7), report.reportData());
        assertArrayEquals(MEASUREMENT, report.measurement());
        assertArrayEquals(HOST_DATA, report.hostData());
        assertEquals(Product.MILAN, report.cpuProduct().orElseThrow());

        SnpVerifier verifier = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark())
                .expectHostData(HOST_DATA).expectMeasurement(MEASUREMENT).expectReportData(nonce(7)).build());
        Verdict v = verifier.verify(report, launch.certificates());
        assertTrue(v.valid(), v.summary());
        assertEquals(TeeKind.SIM, v.tee());
        assertEquals(Product.MILAN, v.product().orElseThrow());
        assertEquals(CheckResult.Status.PASS, v.check("host_data").orElseThrow().status());
        assertEquals(CheckResult.Status.PASS, v.check("report_data").orElseThrow().status());
        Verdict stale = new SnpVerifier(verifier.policy().toBuilder().expectReportData(nonce(8)).build()).verify(report, launch.certificates());
        assertEquals(List.of("report_data"), stale.failures().stream().map(CheckResult::name).toList());
    }

    @Test
    void simReportsAreRefusedUnlessTheSimRootIsExplicitlyTrusted() {
        byte[] raw = sp.launch(MEASUREMENT, HOST_DATA).report(nonce(1));
        Verdict v = new SnpVerifier(VerifierPolicy.defaults()).verify(SnpReport.parse(raw), sp.certificates());
        assertFalse(v.valid());
        assertEquals(TeeKind.UNKNOWN, v.tee());
        CheckResult chain = v.check("certificate_chain").orElseThrow();
        assertEquals(CheckResult.Status.FAIL, chain.status());
        assertTrue(chain.detail().contains("--trust-sim"), chain.detail());
        // Only the chain is wrong: the signature itself is fine, so nothing else gives it away.
        assertEquals(CheckResult.Status.PASS, v.check("report_signature").orElseThrow().status());
    }

    @Test
    void anotherChipsRootDoesNotVouchForThisChip(@TempDir Path other) {
        SimulatedSecureProcessor second = SimulatedSecureProcessor.openOrCreate(other.resolve("sim-tee"));
        byte[] raw = second.launch(MEASUREMENT, HOST_DATA).report(nonce(2));
        SnpVerifier trustsFirst = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark()).build());
        Verdict v = trustsFirst.verify(SnpReport.parse(raw), second.certificates());
        assertFalse(v.valid());
        // Mixing: the second chip's report with the first chip's VCEK.
        Verdict mixed = trustsFirst.verify(SnpReport.parse(raw), sp.certificates());
        assertFalse(mixed.valid());
        assertEquals(CheckResult.Status.FAIL, mixed.check("report_signature").orElseThrow().status());
    }

    @Test
    void amdRootsCannotBeConfiguredAsSimRoots() {
        AmdCertificate amdArk = AmdRoots.bundled().stream().filter(c -> c.role() == CertRole.ARK).findFirst().orElseThrow();
        var e = assertThrows(IllegalArgumentException.class, () -> VerifierPolicy.builder().trustSimRoot(amdArk).build());
        assertTrue(e.getMessage().contains("not a simulated one"), e.getMessage());
    }

    @Test
    void realEvidenceIsNeverMistakenForSimAndViceVersa() {
        var s = TestData.TRUSTEE;
        SnpVerifier both = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark())
                .clock(java.time.Clock.fixed(s.at(), java.time.ZoneOffset.UTC)).build());
        Verdict real = both.verify(s.report(), s.vcek(), s.chain());
        assertTrue(real.valid(), real.summary());
        assertEquals(TeeKind.REAL, real.tee());
        // A real report presented with the sim chain fails.
        assertFalse(both.verify(s.report(), sp.vcek(), List.of(sp.ask(), sp.ark())).valid());
    }

    @Test
    void everyAlteredByteOfASimReportIsRejected() {
        byte[] raw = sp.launch(MEASUREMENT, HOST_DATA).report(nonce(3));
        SnpVerifier verifier = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark()).build());
        assertTrue(verifier.verify(SnpReport.parse(raw), sp.certificates()).valid());
        for (int i = 0; i < SnpReport.SIGNED_LENGTH + 144; i++) {
            byte[] t = raw.clone();
            t[i] ^= (byte) 0xFF;
            try {
                assertFalse(verifier.verify(SnpReport.parse(t), sp.certificates()).valid(), "byte " + i);
            } catch (SnpReportFormatException rejectedByParser) {
                assertTrue(i < 4, "only the version field may fail parsing, byte " + i);
            }
        }
    }

    @Test
    void reopeningKeepsTheSameChipAndConcurrentCreationAgrees(@TempDir Path tmp) throws Exception {
        SimulatedSecureProcessor again = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        assertEquals(sp.ark(), again.ark());
        assertArrayEquals(sp.chipId(), again.chipId());

        Path dir = tmp.resolve("sim-tee");
        Callable<String> open = () -> SimulatedSecureProcessor.openOrCreate(dir).ark().sha256Fingerprint();
        try (var pool = Executors.newFixedThreadPool(2)) {
            var a = pool.submit(open);
            var b = pool.submit(open);
            assertEquals(a.get(), b.get());
        }
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(dir), files.toList(), "no temporary directories are left behind");
        }
    }

    @Test
    void damagedStateIsReportedWithWhatToDo(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("sim-tee"));
        try (var files = Files.list(sp.directory())) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        var gen = java.security.KeyPairGenerator.getInstance("EC");
        gen.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
        Files.writeString(dir.resolve("vcek-key.pem"), "-----BEGIN PRIVATE KEY-----\n"
                + java.util.Base64.getMimeEncoder().encodeToString(gen.generateKeyPair().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        var e = assertThrows(IllegalStateException.class, () -> SimulatedSecureProcessor.load(dir));
        assertTrue(e.getMessage().contains("does not match") && e.getMessage().contains("delete"), e.getMessage());
        // loadForSigning defers the key check to the first report: none is ever signed with the wrong key
        SimLaunch mismatched = SimulatedSecureProcessor.loadForSigning(dir).launch(MEASUREMENT, HOST_DATA);
        var signing = assertThrows(IllegalStateException.class, () -> mismatched.report(nonce(1)));
        assertTrue(signing.getMessage().contains("does not match") && signing.getMessage().contains("delete"), signing.getMessage());
        assertThrows(IllegalStateException.class, () -> mismatched.report(nonce(2)), "refused every time, not only once");
        Files.delete(dir.resolve("ask.pem"));
        var missing = assertThrows(java.io.UncheckedIOException.class, () -> SimulatedSecureProcessor.load(dir));
        assertTrue(missing.getMessage().contains("delete the directory"), missing.getMessage());
    }

    @Test
    void aBrokenChainLoadsForSigningButItsReportsDoNotVerify(@TempDir Path tmp) throws Exception {
        // the agent's loadForSigning leaves the chain to the verifiers: they must catch it
        Path dir = Files.createDirectory(tmp.resolve("sim-tee"));
        try (var files = Files.list(sp.directory())) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        SimulatedSecureProcessor other = SimulatedSecureProcessor.openOrCreate(tmp.resolve("other"));
        Files.copy(other.directory().resolve("ask.pem"), dir.resolve("ask.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        var e = assertThrows(IllegalStateException.class, () -> SimulatedSecureProcessor.load(dir));
        assertTrue(e.getMessage().contains("inconsistent") && e.getMessage().contains("delete the directory"), e.getMessage());

        SimulatedSecureProcessor broken = SimulatedSecureProcessor.loadForSigning(dir);
        SimLaunch launch = broken.launch(MEASUREMENT, HOST_DATA);
        Verdict v = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark()).build())
                .verify(SnpReport.parse(launch.report(nonce(3))), launch.certificates());
        assertFalse(v.valid());
        assertEquals(CheckResult.Status.FAIL, v.check("certificate_chain").orElseThrow().status());
    }

    @Test
    void theSigningOpenCreatesOnFirstUseAndThenReopensTheSameChip(@TempDir Path tmp) {
        SimulatedSecureProcessor created = SimulatedSecureProcessor.openOrCreateForSigning(tmp.resolve("sim-tee"));
        SimulatedSecureProcessor again = SimulatedSecureProcessor.openOrCreateForSigning(tmp.resolve("sim-tee"));
        assertArrayEquals(created.chipId(), again.chipId());
        // what it signs verifies under the full check's root
        SimLaunch launch = again.launch(MEASUREMENT, HOST_DATA);
        Verdict v = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(SimulatedSecureProcessor.load(tmp.resolve("sim-tee")).ark())
                .build()).verify(SnpReport.parse(launch.report(nonce(4))), launch.certificates());
        assertTrue(v.valid(), v.summary());
    }

    @Test
    void launchInputsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> sp.launch(new byte[32], HOST_DATA));
        assertThrows(IllegalArgumentException.class, () -> sp.launch(MEASUREMENT, new byte[48]));
        assertThrows(IllegalArgumentException.class, () -> sp.launch(MEASUREMENT, HOST_DATA, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> sp.launch(MEASUREMENT, HOST_DATA).report(new byte[32]));
        assertTrue(e.getMessage().contains("exactly 64 bytes"));
    }

    @Test
    void debugLaunchesAreRefusedByDefault() {
        byte[] raw = sp.launch(MEASUREMENT, HOST_DATA, 0x30000L | (1L << 19)).report(nonce(4));
        Verdict v = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark()).build()).verify(SnpReport.parse(raw), sp.certificates());
        assertFalse(v.valid());
        assertEquals(List.of("policy_debug"), v.failures().stream().map(CheckResult::name).toList());
    }
}
