package dev.coffer.attest.verify;

import dev.coffer.attest.TestData;
import dev.coffer.attest.TestData.Sample;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.CertificateFormatException;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Evidence that was altered, or comes with the wrong certificate, is rejected. */
class TamperTest {
    static final List<Sample> SAMPLES = TestData.ALL;

    @ParameterizedTest
    @FieldSource("SAMPLES")
    void flippingAnyBitOfTheSignedBytesIsRejected(Sample s) {
        SnpVerifier verifier = RealEvidenceTest.verifier(s);
        AmdCertificate vcek = s.vcek();
        List<AmdCertificate> chain = s.chain();
        byte[] raw = s.report().raw();
        int rejected = 0;
        for (int i = 0; i < SnpReport.SIGNED_LENGTH; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] t = raw.clone();
                t[i] ^= (byte) (1 << bit);
                assertTrue(rejects(verifier, t, vcek, chain), s.name() + ": flipping bit " + bit + " of byte " + i + " was accepted");
                rejected++;
            }
        }
        assertEquals(SnpReport.SIGNED_LENGTH * 8, rejected);
    }

    @ParameterizedTest
    @FieldSource("SAMPLES")
    void alteringAnyByteOfTheSignatureIsRejected(Sample s) {
        SnpVerifier verifier = RealEvidenceTest.verifier(s);
        AmdCertificate vcek = s.vcek();
        byte[] raw = s.report().raw();
        // r and s occupy 0x2A0..0x32F (72 bytes each, of which only 48 can be significant).
        for (int i = SnpReport.SIGNED_LENGTH; i < SnpReport.SIGNED_LENGTH + 144; i++) {
            byte[] t = raw.clone();
            t[i] ^= (byte) 0xA5;
            assertTrue(rejects(verifier, t, vcek, List.of()), s.name() + ": altering signature byte " + i + " was accepted");
        }
    }

    private static boolean rejects(SnpVerifier verifier, byte[] report, AmdCertificate vcek, List<AmdCertificate> chain) {
        SnpReport parsed;
        try {
            parsed = SnpReport.parse(report);
        } catch (SnpReportFormatException e) {
            return true;
        }
        Verdict v = verifier.verify(parsed, vcek, chain);
        return !v.valid();
    }

    @Test
    void upstreamNegativeCaseBit7OfByte21() {
        Sample s = TestData.VIRTEE;
        byte[] raw = s.report().raw();
        raw[21] ^= (byte) 0x80;
        Verdict v = RealEvidenceTest.verifier(s).verify(SnpReport.parse(raw), s.vcek(), s.chain());
        assertFalse(v.valid());
        assertEquals(CheckResult.Status.FAIL, v.check("report_signature").orElseThrow().status());
    }

    @Test
    void alteredVcekFailsTheChain() {
        Sample s = TestData.VIRTEE;
        byte[] der = TestData.read(s.vcekFile());
        der[40] ^= 1;
        AmdCertificate bad;
        try {
            bad = AmdCertificate.fromDer(der);
        } catch (CertificateFormatException e) {
            return; // not even a certificate any more: rejected
        }
        Verdict v = RealEvidenceTest.verifier(s).verify(s.report(), bad, s.chain());
        assertFalse(v.valid());
        assertEquals(CheckResult.Status.FAIL, v.check("certificate_chain").orElseThrow().status(), v.summary());
    }

    @Test
    void invalidTrusteeVceksAreRejectedAndBothHwIdEncodingsParse() {
        Sample s = TestData.TRUSTEE;
        byte[] expectedHwId = new byte[64];
        for (int i = 0; i < 64; i++) expectedHwId[i] = (byte) i;
        for (String f : List.of("test-vcek-invalid-legacy.der", "test-vcek-invalid-new.der")) {
            AmdCertificate bad = AmdCertificate.fromDer(TestData.read("snp/trustee-milan-vcek-v2/" + f));
            assertArrayEquals(expectedHwId, bad.hwId().orElseThrow(), f + " hwID");
            Verdict v = RealEvidenceTest.verifier(s).verify(s.report(), bad, s.chain());
            assertFalse(v.valid(), f);
            assertEquals(CheckResult.Status.FAIL, v.check("certificate_chain").orElseThrow().status(), f);
            assertEquals(CheckResult.Status.FAIL, v.check("chip_id").orElseThrow().status(), f);
            assertEquals(CheckResult.Status.FAIL, v.check("report_signature").orElseThrow().status(), f);
            assertEquals(TeeKind.UNKNOWN, v.tee());
        }
        assertEquals(0xa9, AmdCertificate.fromDer(TestData.read("snp/trustee-milan-vcek-v2/test-vcek-invalid-legacy.der"))
                .spl(AmdCertificate.UCODE_SPL).orElseThrow());
        assertEquals(0x1e, AmdCertificate.fromDer(TestData.read("snp/trustee-milan-vcek-v2/test-vcek-invalid-new.der"))
                .spl(AmdCertificate.UCODE_SPL).orElseThrow());
    }

    @Test
    void aVcekOfAnotherChipIsRejected() {
        Verdict v = RealEvidenceTest.verifier(TestData.TRUSTEE).verify(TestData.TRUSTEE.report(), TestData.VIRTEE.vcek(), List.of());
        assertFalse(v.valid());
        assertEquals(CheckResult.Status.FAIL, v.check("chip_id").orElseThrow().status());
        assertEquals(CheckResult.Status.FAIL, v.check("report_signature").orElseThrow().status());
    }

    @Test
    void aGenoaReportWithAMilanChainIsRejected() {
        Sample s = TestData.OAK_GENOA;
        Verdict v = RealEvidenceTest.verifier(s).verify(s.report(), TestData.GO_SEV_GUEST.vcek(), TestData.GO_SEV_GUEST.chain());
        assertFalse(v.valid());
        assertEquals(CheckResult.Status.FAIL, v.check("product").orElseThrow().status(), v.summary());
    }

    @Test
    void expiredCertificatesFailAtTheWrongTime() {
        Sample s = TestData.GO_SEV_GUEST;
        SnpVerifier late = new SnpVerifier(VerifierPolicy.builder().allowDebug(true)
                .clock(java.time.Clock.fixed(java.time.Instant.parse("2030-01-01T00:00:00Z"), java.time.ZoneOffset.UTC)).build());
        Verdict v = late.verify(s.report(), s.vcek(), s.chain());
        assertFalse(v.valid());
        CheckResult c = v.check("certificate_validity").orElseThrow();
        assertEquals(CheckResult.Status.FAIL, c.status());
        assertTrue(c.detail().contains("SEV-VCEK is valid 2022-09-24"), c.detail());
    }

    @Test
    void policyChecksRefuseDebugMinimumTcbAndUnexpectedValues() {
        Sample s = TestData.GO_SEV_GUEST;
        var strict = RealEvidenceTest.verifier(s).policy().toBuilder().allowDebug(false).allowSmt(false)
                .minimumTcb(dev.coffer.attest.snp.TcbVersion.parseSpec("bl=3,tee=0,snp=5,ucode=68", dev.coffer.attest.snp.TcbLayout.MILAN_GENOA))
                .expectHostData(new byte[32]).expectMeasurement(new byte[48]).build();
        Verdict v = new SnpVerifier(strict).verify(s.report(), s.vcek(), s.chain());
        assertFalse(v.valid());
        assertEquals(List.of("policy_debug", "policy_smt", "minimum_tcb", "measurement"),
                v.failures().stream().map(CheckResult::name).toList());
        assertEquals(CheckResult.Status.PASS, v.check("host_data").orElseThrow().status());
        assertTrue(v.summary().contains("policy_debug (guest policy allows debugging"), v.summary());
    }

    @Test
    void unrelatedExtraCertificatesDoNotHurt() {
        Sample s = TestData.TRUSTEE;
        List<AmdCertificate> onlyGenoa = dev.coffer.attest.cert.Certificates.parse(TestData.read("amd-roots/ask_ark_genoa.pem"));
        Verdict v = RealEvidenceTest.verifier(s).verify(s.report(), s.vcek(), onlyGenoa);
        // The bundled Milan chain is still found, so the verdict stays valid: supplying extra certificates cannot hurt.
        assertTrue(v.valid(), v.summary());
    }
}
