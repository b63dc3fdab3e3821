package dev.coffer.attest.evidence;

import dev.coffer.attest.TestData;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.QuoteFormatException;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportFormatException;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.VerifierPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The evidence model as callers depend on it: lists derived from the declared kinds, one member
 * per kind, the simulated member refused unless asked for, and the presented-kind accessors.
 */
class EvidenceModelTest {
    private static final HexFormat HEX = HexFormat.of();

    /**
     * Exhaustive over the sealed type, with no default: a new member does not compile until it is
     * handled here, and the kind it reports must be a declared one nobody else reports.
     */
    private static EvidenceKind declaredKindOf(Evidence e) {
        return switch (e) {
            case Evidence.SevSnp s -> EvidenceKind.SEV_SNP;
            case Evidence.Sgx s -> EvidenceKind.SGX;
            case Evidence.Tdx t -> EvidenceKind.TDX;
            case Evidence.Simulated s -> EvidenceKind.SIMULATED;
        };
    }

    @Test
    void everyKindHasExactlyOneMemberAndTheListsAreDerivedFromTheKinds() {
        Class<?>[] members = Evidence.class.getPermittedSubclasses();
        assertEquals(EvidenceKind.values().length, members.length, "one Evidence member per EvidenceKind");
        assertEquals(List.of("snp", "sgx", "tdx", "sim"), EvidenceKind.labels());
        // SEV-SNP and the simulated TEE share the wire format and the endpoint; the list has each once.
        assertEquals(List.of("SevSnpVm", "SgxEnclave", "TdxVm"), EvidenceKind.endpoints());
        assertEquals(List.of(EvidenceKind.SEV_SNP, EvidenceKind.SIMULATED), EvidenceKind.atEndpoint("SevSnpVm"));
        Set<String> types = Arrays.stream(EvidenceKind.values()).map(EvidenceKind::attestationType).collect(Collectors.toSet());
        assertEquals(EvidenceKind.values().length, types.size(), "attestation types are distinct");
        assertEquals(List.of(EvidenceKind.SIMULATED),
                Arrays.stream(EvidenceKind.values()).filter(k -> !k.hardware()).toList(), "only the simulated TEE is not hardware");
    }

    @Test
    void kindsParseByLabelAndAnUnknownLabelSaysWhatIsValid() {
        assertEquals(EvidenceKind.TDX, EvidenceKind.parse("TDX", "--tee"));
        assertEquals(EvidenceKind.SIMULATED, EvidenceKind.parse("sim", "--tee"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EvidenceKind.parse("sev", "--tee"));
        assertEquals("expected --tee to be one of snp|sgx|tdx|sim, found \"sev\"", e.getMessage());
        assertTrue(EvidenceKind.byLabel(null).isEmpty());
    }

    @Test
    void simulatedEvidenceIsRefusedUnlessTheCallerAskedForIt(@TempDir Path home) {
        SimulatedSecureProcessor sp = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        SimLaunch launch = sp.launch(new byte[48], new byte[32]);
        SnpReport report = SnpReport.parse(launch.report(new byte[64]));
        Evidence presented = Evidence.snpFormat(report, launch.certificates());
        assertInstanceOf(Evidence.Simulated.class, presented, "a chain naming the simulated processor is presented as simulated");
        assertEquals(EvidenceKind.SIMULATED, declaredKindOf(presented));

        EvidenceVerifier hardwareOnly = new EvidenceVerifier(new SnpVerifier(VerifierPolicy.defaults()));
        assertFalse(hardwareOnly.acceptsSimulated());
        Attestation refused = hardwareOnly.verify(presented, Instant.now());
        assertFalse(refused.valid());
        assertTrue(refused.check("simulated_requested").orElseThrow().failed(), refused.summary());
        assertTrue(refused.check("certificate_chain").orElseThrow().failed(), "and its chain ends at no trusted root");

        EvidenceVerifier asked = new EvidenceVerifier(new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark()).build()));
        assertTrue(asked.acceptsSimulated());
        Attestation accepted = asked.verify(presented, Instant.now());
        assertTrue(accepted.valid(), accepted.summary());
        assertEquals(EvidenceKind.SIMULATED, accepted.claims().kind());
        assertFalse(accepted.claims().kind().hardware());
        assertTrue(accepted.snpVerdict().isPresent());
        assertTrue(accepted.check("simulated_requested").isEmpty());

        // A host that strips the sim names from the chain it presents gets nothing: the chain decides.
        List<AmdCertificate> vcekOnly = List.of(sp.vcek());
        assertInstanceOf(Evidence.Simulated.class, Evidence.snpFormat(report, vcekOnly), "the VCEK's issuer names the sim ASK");
        Attestation posing = asked.verify(new Evidence.SevSnp(report, launch.certificates()), Instant.now());
        assertFalse(posing.valid());
        assertEquals(EvidenceKind.SIMULATED, posing.kind());
    }

    @Test
    void realSnpEvidenceIsPresentedAsHardwareAndItsClaimsNameMeasurementAndHostData() {
        TestData.Sample s = TestData.TRUSTEE;
        List<AmdCertificate> certs = new ArrayList<>(s.chain());
        certs.add(s.vcek());
        Evidence e = Evidence.snpFormat(s.report(), certs);
        assertInstanceOf(Evidence.SevSnp.class, e);
        Attestation a = new EvidenceVerifier(new SnpVerifier(VerifierPolicy.builder().clock(Clock.fixed(s.at(), ZoneOffset.UTC)).build()))
                .verify(e, s.at());
        assertTrue(a.valid(), a.summary());
        assertEquals(HEX.formatHex(s.report().measurement()), a.claims().measurement());
        assertEquals(HEX.formatHex(s.report().hostData()), a.claims().launchData());
        assertArrayEquals(s.report().hostData(), e.launchData());
        assertArrayEquals(s.report().reportData(), e.reportData());
        assertEquals(a.claims().reportData(), HEX.formatHex(e.reportData()));
        assertTrue(a.snpVerdict().orElseThrow().product().isPresent());
    }

    @Test
    void aVerifierThatAlsoTrustsTheSimChainStillReadsHardwareEvidenceAsHardware(@TempDir Path home) {
        // `coffer attest verify --trust-sim` adds the sim ASK and ARK to whatever chain it was given
        TestData.Sample s = TestData.TRUSTEE;
        SimulatedSecureProcessor sp = SimulatedSecureProcessor.openOrCreate(home.resolve("sim"));
        List<AmdCertificate> certs = new ArrayList<>(s.chain());
        certs.add(s.vcek());
        certs.addAll(List.of(sp.ask(), sp.ark()));
        Evidence e = Evidence.snpFormat(s.report(), certs);
        assertInstanceOf(Evidence.SevSnp.class, e, "the endorsement key is AMD's");
        Attestation a = new EvidenceVerifier(new SnpVerifier(VerifierPolicy.builder().clock(Clock.fixed(s.at(), ZoneOffset.UTC))
                .trustSimRoot(sp.ark()).build())).verify(e, s.at());
        assertTrue(a.valid(), a.summary());
        assertEquals(EvidenceKind.SEV_SNP, a.kind());
        assertTrue(a.kind().hardware());
    }

    @Test
    void tdxAndSgxEvidenceNameTheirMeasurementAndLaunchData() {
        DcapQuote td = DcapQuote.parse(TestData.read("intel/tdx-trustee/tdx_quote_4.dat"));
        Evidence tdx = Evidence.parse(EvidenceKind.TDX, td.raw(), List.of());
        assertEquals("705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031",
                HEX.formatHex(tdx.measurement()));
        assertEquals(48, tdx.launchData().length, "MRCONFIGID");
        DcapQuote enclave = DcapQuote.parse(TestData.read("intel/sgx-trustee/occlum_quote.dat"));
        Evidence sgx = Evidence.parse(EvidenceKind.SGX, enclave.raw(), List.of());
        assertEquals("8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68", HEX.formatHex(sgx.measurement()));
        assertEquals(64, sgx.launchData().length, "CONFIGID");
    }

    @Test
    void rawBytesOfTheWrongKindOrFormatAreRefusedWithTheReason() {
        DcapQuote enclave = DcapQuote.parse(TestData.read("intel/sgx-trustee/occlum_quote.dat"));
        IllegalArgumentException wrongTee = assertThrows(IllegalArgumentException.class,
                () -> Evidence.parse(EvidenceKind.TDX, enclave.raw(), List.of()));
        assertTrue(wrongTee.getMessage().contains("not TDX evidence"), wrongTee.getMessage());
        assertThrows(SnpReportFormatException.class, () -> Evidence.parse(EvidenceKind.SEV_SNP, new byte[100], List.of()));
        assertThrows(SnpReportFormatException.class, () -> Evidence.parse(EvidenceKind.SIMULATED, new byte[0], List.of()));
        assertThrows(QuoteFormatException.class, () -> Evidence.parse(EvidenceKind.SGX, new byte[16], List.of()));
    }
}
