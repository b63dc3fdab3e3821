package dev.coffer.attest.evidence;

import dev.coffer.attest.TestData;
import dev.coffer.attest.dcap.Collateral;
import dev.coffer.attest.dcap.CollateralSet;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.DcapVerifier;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.VerifierPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.junit.jupiter.api.Assertions.*;

/** Every kind through the one entry point, with one claims shape; simulated evidence never passes as hardware. */
class EvidenceVerifierTest {
    private static final String GO = "intel/tdx-go-tdx-guest/";
    private static final Instant AT_2023 = Instant.parse("2023-07-01T00:00:00Z");

    private static Collateral collateral2023() {
        String chain = new String(TestData.read(GO + "tcb_info_issuer_chain.pem"), StandardCharsets.US_ASCII);
        return Collateral.fromPcsResponses(new String(TestData.read(GO + "sample_tcbInfo_response"), StandardCharsets.UTF_8), chain,
                new String(TestData.read(GO + "sample_qeIdentity_response"), StandardCharsets.UTF_8), chain, TestData.read(GO + "pckcrl"),
                new String(TestData.read(GO + "pck_crl_issuer_chain.pem"), StandardCharsets.US_ASCII), TestData.read(GO + "rootcrl.der"));
    }

    private static EvidenceVerifier verifier(VerifierPolicy policy, CollateralSet collateral) {
        return new EvidenceVerifier(new SnpVerifier(policy), new DcapVerifier(), collateral);
    }

    @Test
    void tdxEvidenceYieldsTdClaimsAndTcbStatus() {
        DcapQuote q = DcapQuote.parse(TestData.read("intel/tdx-trustee/tdx_quote_4.dat"));
        Attestation a = verifier(VerifierPolicy.builder().build(), CollateralSet.empty().plus(collateral2023()))
                .verify(Evidence.dcap(q), AT_2023);
        assertTrue(a.valid(), a.summary());
        assertEquals(EvidenceKind.TDX, a.kind());
        assertEquals("tdxvm", a.kind().attestationType());
        assertEquals("UpToDate", a.claims().tcbStatus().orElseThrow());
        assertEquals("705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031",
                a.claims().fields().get("mrtd"));
        assertTrue(a.claims().debuggable());
        assertTrue(a.claims().reportData().startsWith("7c71fe2c"));
    }

    @Test
    void dcapEvidenceWithoutItsCollateralIsInvalidAndSaysWhatIsMissing() {
        DcapQuote q = DcapQuote.parse(TestData.read("intel/sgx-trustee/occlum_quote.dat"));
        Attestation a = verifier(VerifierPolicy.builder().build(), CollateralSet.empty().plus(collateral2023()))
                .verify(Evidence.dcap(q), Instant.parse("2024-01-01T00:00:00Z"));
        assertFalse(a.valid());
        assertEquals(EvidenceKind.SGX, a.kind());
        String why = a.failures().stream().filter(c -> c.name().equals("collateral_available")).findFirst().orElseThrow().detail();
        assertTrue(why.contains("SGX FMSPC 00606a000000") && why.contains("TDX/50806f000000"), why);
        // The parsed claims are still there for diagnosis.
        assertEquals("8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68", a.claims().fields().get("mrenclave"));
        assertThrows(IllegalArgumentException.class, () -> new Evidence.Tdx(q));
    }

    @Test
    void realSnpEvidenceVerifiesThroughTheSameEntryPoint() {
        TestData.Sample s = TestData.TRUSTEE;
        Attestation a = verifier(policyAt(s.at()), CollateralSet.empty()).verify(trusteeEvidence(), s.at());
        assertTrue(a.valid(), a.summary());
        assertEquals(EvidenceKind.SEV_SNP, a.kind());
        assertTrue(a.kind().hardware());
        assertTrue(a.claims().fields().containsKey("measurement"));
    }

    @Test
    void snpEvidenceIsJudgedAtTheInstantGivenAsDcapEvidenceIs() {
        TestData.Sample s = TestData.TRUSTEE;
        // the policy's clock says the capture time; the caller's instant is what counts, for every kind
        Instant afterEverything = s.vcek().notAfter().plusSeconds(86_400);
        Attestation late = verifier(policyAt(s.at()), CollateralSet.empty()).verify(trusteeEvidence(), afterEverything);
        assertFalse(late.valid());
        String why = late.failures().stream().filter(c -> c.name().equals("certificate_validity")).findFirst().orElseThrow().detail();
        assertTrue(why.startsWith("at " + afterEverything), why);
        // and the same evidence at the capture time is valid, with a policy clock that says otherwise
        assertTrue(verifier(policyAt(afterEverything), CollateralSet.empty()).verify(trusteeEvidence(), s.at()).valid());
    }

    private static VerifierPolicy policyAt(Instant clock) {
        return VerifierPolicy.builder().clock(Clock.fixed(clock, ZoneOffset.UTC)).build();
    }

    /** Trustee's captured SEV-SNP report with its VCEK and AMD chain. */
    private static Evidence trusteeEvidence() {
        TestData.Sample s = TestData.TRUSTEE;
        java.util.List<dev.coffer.attest.cert.AmdCertificate> certs = new java.util.ArrayList<>(s.chain());
        certs.add(s.vcek());
        return new Evidence.SevSnp(s.report(), certs);
    }

    @Test
    void simulatedEvidenceIsItsOwnKindAndNeverPassesAsHardware(@TempDir Path home) {
        SimulatedSecureProcessor sp = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        SimLaunch launch = sp.launch(new byte[48], new byte[32]);
        SnpReport report = SnpReport.parse(launch.report(new byte[64]));
        EvidenceVerifier trusting = verifier(VerifierPolicy.builder().trustSimRoot(sp.ark()).build(), CollateralSet.empty());

        Attestation sim = trusting.verify(new Evidence.Simulated(report, launch.certificates()), Instant.now());
        assertTrue(sim.valid(), sim.summary());
        assertEquals(EvidenceKind.SIMULATED, sim.kind());
        assertFalse(sim.kind().hardware());
        assertEquals("coffer-sim-sevsnpvm", sim.kind().attestationType());

        Attestation posing = trusting.verify(new Evidence.SevSnp(report, launch.certificates()), Instant.now());
        assertFalse(posing.valid());
        assertEquals(EvidenceKind.SIMULATED, posing.kind());
        assertTrue(posing.summary().contains("never accepted as hardware"), posing.summary());

        Attestation untrusted = verifier(VerifierPolicy.builder().build(), CollateralSet.empty())
                .verify(new Evidence.Simulated(report, launch.certificates()), Instant.now());
        assertFalse(untrusted.valid());
    }
}
