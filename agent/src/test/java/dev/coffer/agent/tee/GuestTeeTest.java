package dev.coffer.agent.tee;

import dev.coffer.agent.skr.Evidence;
import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.evidence.Attestation;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.attest.evidence.EvidenceVerifier;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.VerifierPolicy;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guest's TEE as an interface: the agent reads its own TEE's answers through the evidence
 * model by the TEE's kind, and every way that answer or the {@code --tee} choice can be wrong
 * fails closed, naming what was expected and what was found.
 */
class GuestTeeTest {
    static final String POLICY = "package policy\napi_version := \"0.10.0\"\n";
    @TempDir
    static Path home;
    static SimulatedSecureProcessor chip;
    static SimLaunch launch;
    static final byte[] MEASUREMENT = new byte[48];

    @BeforeAll
    static void chip() {
        Arrays.fill(MEASUREMENT, (byte) 0x6b);
        chip = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        launch = chip.launch(MEASUREMENT, HostData.ofPolicy(POLICY.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void theSimulatedTeeIsTheSimulatedMemberOfTheEvidenceModelAndVerifiesOnlyWhereSimWasAskedFor() {
        GuestTee tee = new SimEvidenceSource(launch);
        assertEquals(EvidenceKind.SIMULATED, tee.kind());
        assertEquals("sim", tee.tee());
        assertEquals("HOST_DATA", tee.launchBoundDataName());
        assertArrayEquals(HostData.ofPolicy(POLICY.getBytes(StandardCharsets.UTF_8)), tee.launchBoundData());
        assertArrayEquals(tee.launchBoundData(), tee.requirePolicyBound(POLICY.getBytes(StandardCharsets.UTF_8)));

        // What it hands out is read by a verifier as simulated evidence: valid only with the sim root trusted explicitly.
        Evidence answer = tee.evidence(new byte[64]);
        var evidence = dev.coffer.attest.evidence.Evidence.snpFormat(answer.report(), Certificates.parsePem(answer.certChainPem()));
        assertEquals(EvidenceKind.SIMULATED, evidence.kind());
        Attestation trusted = new EvidenceVerifier(new SnpVerifier(VerifierPolicy.builder().trustSimRoot(chip.ark()).allowSmt(true).build()))
                .verify(evidence, Instant.now());
        assertTrue(trusted.valid(), trusted.summary());
        assertEquals(EvidenceKind.SIMULATED, trusted.claims().kind());
        assertFalse(trusted.claims().kind().hardware());
        Attestation hardwareOnly = new EvidenceVerifier(new SnpVerifier(VerifierPolicy.builder().allowSmt(true).build()))
                .verify(evidence, Instant.now());
        assertFalse(hardwareOnly.valid());
        assertTrue(hardwareOnly.check("simulated_requested").orElseThrow().failed(), hardwareOnly.summary());
    }

    @Test
    void theStartupCheckRefusesAnotherPolicyAndAllowAllOnABoundLaunch() {
        GuestTee tee = new SimEvidenceSource(launch);
        IllegalStateException other = assertThrows(IllegalStateException.class,
                () -> tee.requirePolicyBound((POLICY + "# edited\n").getBytes(StandardCharsets.UTF_8)));
        assertTrue(other.getMessage().contains(HexFormat.of().formatHex(HostData.ofPolicy(POLICY.getBytes(StandardCharsets.UTF_8)))),
                other.getMessage());
        IllegalStateException allowAll = assertThrows(IllegalStateException.class, () -> tee.requirePolicyBound(null));
        assertTrue(allowAll.getMessage().startsWith("expected HOST_DATA of zeros for --policy allow-all"), allowAll.getMessage());
    }

    @Test
    void anAnswerThatIsNotEvidenceOfTheTeesKindIsRefused() {
        // a TEE that answers with bytes that are no report at all
        EvidenceSource garbage = source(new byte[100]);
        TeeException e = assertThrows(TeeException.class, () -> LaunchBinding.read(EvidenceKind.SEV_SNP, garbage));
        assertTrue(e.getMessage().startsWith("expected snp evidence from the guest's snp TEE, found an answer that is not"), e.getMessage());

        // an SEV-SNP-format report where a TDX quote is expected: the kind decides the format, never the bytes
        EvidenceSource snpAnswer = source(launch.report(LaunchBinding.STARTUP_REPORT_DATA));
        TeeException tdx = assertThrows(TeeException.class, () -> LaunchBinding.read(EvidenceKind.TDX, snpAnswer));
        assertTrue(tdx.getMessage().startsWith("expected tdx evidence"), tdx.getMessage());
        assertArrayEquals(HostData.ofPolicy(POLICY.getBytes(StandardCharsets.UTF_8)), LaunchBinding.read(EvidenceKind.SIMULATED, snpAnswer));
    }

    @Test
    void anAnswerForOtherReportDataIsRefused() {
        // a host replaying an old report (made for another REPORT_DATA) cannot bind the policy
        EvidenceSource replay = source(launch.report(new byte[64]));
        TeeException e = assertThrows(TeeException.class,
                () -> LaunchBinding.require(EvidenceKind.SIMULATED, replay, POLICY.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("other REPORT_DATA than the agent asked for"), e.getMessage());
    }

    @Test
    void onlyTheAgentsOwnTeeCanVouchForTheLaunch() {
        EvidenceSource stranger = source(launch.report(LaunchBinding.STARTUP_REPORT_DATA));
        TeeException e = assertThrows(TeeException.class, () -> TeeSources.requirePolicyBound(stranger, null));
        assertTrue(e.getMessage().startsWith("expected the guest's own TEE (sim or snp) for the startup check"), e.getMessage());
    }

    @Test
    void everyDeclaredKindIsEitherAGuestTeeOrRefusedPrecisely(@TempDir Path root) {
        assertEquals("none|sim|snp", TeeSources.choices());
        for (EvidenceKind kind : EvidenceKind.values()) {
            if (GuestTee.KINDS.contains(kind)) continue;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TeeSources.open(kind.label(), null, "web", root, null), kind.label());
            assertEquals("expected --tee none|sim|snp, found \"" + kind.label() + "\"", e.getMessage());
        }
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> TeeSources.open("sev", null, "web", root, null));
        assertEquals("expected --tee none|sim|snp, found \"sev\"", unknown.getMessage());
        // labels are exact on the agent's command line, as before
        assertThrows(IllegalArgumentException.class, () -> TeeSources.open("SIM", null, "web", root, null));
        // a guest asked for SEV-SNP on a machine without it fails closed, naming the interfaces it looked for under its root
        TeeException snp = assertThrows(TeeException.class, () -> TeeSources.open("snp", null, "web", root, null));
        assertTrue(snp.getMessage().startsWith("no SEV-SNP guest interface found: expected " + root.resolve("sys/kernel/config/tsm/report")),
                snp.getMessage());
        assertTrue(snp.getMessage().contains(root.resolve("dev/sev-guest").toString()), snp.getMessage());
    }

    @Test
    void snpIsFoundUnderTheRootTheAgentIsGiven(@TempDir Path machine) throws Exception {
        java.nio.file.Files.createDirectories(machine.resolve("sys/kernel/config/tsm/report"));
        GuestTee tee = TeeSources.open("snp", null, "web", machine, null).orElseThrow();
        assertEquals(EvidenceKind.SEV_SNP, tee.kind());
    }

    private static EvidenceSource source(byte[] report) {
        return new EvidenceSource() {
            @Override
            public Evidence evidence(byte[] reportData) {
                return new Evidence(report, "");
            }

            @Override
            public String tee() {
                return "hostile";
            }
        };
    }
}
