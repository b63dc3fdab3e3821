package dev.coffer.attest.verify;

import dev.coffer.attest.TestData;
import dev.coffer.attest.TestData.Sample;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.SnpReport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.time.Clock;
import java.time.ZoneOffset;

import static org.junit.jupiter.api.Assertions.*;

class RealEvidenceTest {
    static final java.util.List<Sample> SAMPLES = TestData.ALL;

    static SnpVerifier verifier(Sample s) {
        return new SnpVerifier(VerifierPolicy.builder().allowDebug(s.debug())
                .clock(Clock.fixed(s.at(), ZoneOffset.UTC)).build());
    }

    @ParameterizedTest
    @FieldSource("SAMPLES")
    void realReportVerifiesAtItsPinnedTime(Sample s) {
        Verdict v = verifier(s).verify(s.report(), s.vcek(), s.chain());
        assertTrue(v.valid(), s.name() + ": " + v.summary());
        assertEquals(TeeKind.REAL, v.tee());
        assertEquals(s == TestData.OAK_GENOA ? Product.GENOA : Product.MILAN, v.product().orElseThrow());
        assertTrue(v.checks().stream().filter(c -> c.name().equals("report_signature")).allMatch(c -> c.status() == CheckResult.Status.PASS));
    }

    @ParameterizedTest
    @FieldSource("SAMPLES")
    void verifiesWithTheVcekAloneUsingBundledIntermediates(Sample s) {
        Verdict v = verifier(s).verify(s.report(), java.util.List.of(s.vcek()));
        assertTrue(v.valid(), v.summary());
    }
}
