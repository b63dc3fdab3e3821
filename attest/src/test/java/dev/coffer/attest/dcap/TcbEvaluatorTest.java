package dev.coffer.attest.dcap;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The QVL status algorithm on parsed collateral. Reaching each status needs edited TCB levels,
 * whose signature then no longer verifies: that is why the evaluator is tested apart from the
 * verifier, on real tcbInfo/QE identity with only the levels replaced.
 */
class TcbEvaluatorTest {
    private static final String GO = IntelTestData.GO;
    private static final String TRUSTEE = IntelTestData.TRUSTEE;

    private static TcbInfo tcbInfo(String response) {
        return TcbInfo.parse(Json.rawMember(IntelTestData.text(response), "tcbInfo", response));
    }

    private static QeIdentity qeIdentity(String response) {
        return QeIdentity.parse(Json.rawMember(IntelTestData.text(response), "enclaveIdentity", response));
    }

    private static TcbEvaluation evaluate(DcapQuote q, TcbInfo info, QeIdentity qe) {
        return TcbEvaluator.evaluate(info, PckExtensions.of(q.pckChain().getFirst()),
                q.body() instanceof TdReport td ? Optional.of(td) : Optional.empty(), qe, q.qeReport());
    }

    @Test
    void v5SampleIsUpToDateWithItsModuleIdentity() {
        TcbEvaluation e = evaluate(IntelTestData.quote(GO + "quote_v5_sample.dat"), tcbInfo(GO + "sample_tcbinfo_response_v5"),
                qeIdentity(GO + "sample_qeIdentity_response"));
        assertTrue(e.matched(), e.problems().toString());
        assertEquals(TcbStatus.UP_TO_DATE, e.status().orElseThrow());
        assertEquals(TcbStatus.UP_TO_DATE, e.tdxModuleStatus().orElseThrow());
        assertEquals(Instant.parse("2024-11-13T00:00:00Z"), e.tcbDate().orElseThrow());
        assertTrue(e.detail().contains("TDX_01"), e.detail());
    }

    @Test
    void trusteeQuote6IsOutOfDateWithModuleAndQeUpToDate() {
        TcbEvaluation e = evaluate(IntelTestData.quote(TRUSTEE + "tdx_quote_6.dat"), tcbInfo(TRUSTEE + "tcbInfo.json"),
                qeIdentity(TRUSTEE + "enclaveIdentity.json"));
        assertTrue(e.matched(), e.problems().toString());
        assertEquals(TcbStatus.OUT_OF_DATE, e.platformStatus().orElseThrow());
        assertEquals(TcbStatus.OUT_OF_DATE, e.status().orElseThrow());
        assertEquals(TcbStatus.UP_TO_DATE, e.tdxModuleStatus().orElseThrow());
        assertEquals(TcbStatus.UP_TO_DATE, e.qeStatus().orElseThrow());
        assertTrue(e.detail().contains("TDX_03"), e.detail());
    }

    @Test
    void trusteeQuote5MatchesNoLevel() {
        TcbEvaluation e = evaluate(IntelTestData.quote(TRUSTEE + "tdx_quote_5.dat"), tcbInfo(GO + "sample_tcbinfo_response_v5"),
                qeIdentity(GO + "sample_qeIdentity_response"));
        assertFalse(e.matched());
        assertTrue(e.status().isEmpty());
        assertTrue(e.problems().getFirst().contains("no TCB level"), e.problems().toString());
    }

    @Test
    void outOfDateLevelCarriesItsAdvisories() {
        // tdx_quote_4 with PCESVN 11; drop the UpToDate level (pcesvn 11) so the OutOfDate one (pcesvn 5) matches.
        TcbInfo info = tcbInfo(GO + "sample_tcbInfo_response");
        TcbInfo second = info.withLevels(info.tcbLevels().subList(1, info.tcbLevels().size()));
        TcbEvaluation e = evaluate(IntelTestData.quote(TRUSTEE + "tdx_quote_4.dat"), second, qeIdentity(GO + "sample_qeIdentity_response"));
        assertEquals(TcbStatus.OUT_OF_DATE, e.status().orElseThrow());
        assertTrue(e.advisoryIds().contains("INTEL-SA-00106") && e.advisoryIds().contains("INTEL-SA-00477"), e.advisoryIds().toString());
    }

    /** Each status, reached by putting an unreachable level first and a matching level with that status second. */
    @Test
    void everyStatusIsReachableAndTheFirstMatchingLevelWins() {
        DcapQuote q = IntelTestData.quote(TRUSTEE + "tdx_quote_4.dat");
        TcbInfo info = tcbInfo(GO + "sample_tcbInfo_response");
        TcbInfo.TcbLevel matching = info.tcbLevels().getFirst();
        int[] above = matching.sgxComponents();
        above[1] = 99; // no platform has SVN 99: this level cannot match
        for (TcbStatus s : TcbStatus.values()) {
            List<TcbInfo.TcbLevel> levels = List.of(
                    new TcbInfo.TcbLevel(above, matching.pceSvn(), matching.tdxComponents(), matching.tcbDate(), TcbStatus.UP_TO_DATE, List.of()),
                    new TcbInfo.TcbLevel(matching.sgxComponents(), matching.pceSvn(), matching.tdxComponents(), matching.tcbDate(), s, List.of("INTEL-SA-TEST")),
                    new TcbInfo.TcbLevel(new int[16], 0, Optional.of(new int[16]), matching.tcbDate(), TcbStatus.REVOKED, List.of("NOT-THIS")));
            TcbEvaluation e = evaluate(q, info.withLevels(levels), qeIdentity(GO + "sample_qeIdentity_response"));
            assertEquals(s, e.status().orElseThrow(), s.pcsName());
            assertEquals(List.of("INTEL-SA-TEST"), e.advisoryIds());
        }
    }

    @Test
    void tdxComponentsBelowTheLevelDoNotMatch() {
        DcapQuote q = IntelTestData.quote(TRUSTEE + "tdx_quote_4.dat"); // TEE_TCB_SVN 03 00 05
        TcbInfo info = tcbInfo(GO + "sample_tcbInfo_response");
        TcbInfo.TcbLevel l = info.tcbLevels().getFirst();
        int[] tdx = l.tdxComponents().orElseThrow().clone();
        tdx[2] = 6;
        TcbInfo edited = info.withLevels(List.of(new TcbInfo.TcbLevel(l.sgxComponents(), l.pceSvn(), Optional.of(tdx), l.tcbDate(), l.status(), List.of())));
        assertFalse(evaluate(q, edited, qeIdentity(GO + "sample_qeIdentity_response")).matched());
        TcbInfo pce = info.withLevels(List.of(new TcbInfo.TcbLevel(l.sgxComponents(), 12, l.tdxComponents(), l.tcbDate(), l.status(), List.of())));
        assertFalse(evaluate(q, pce, qeIdentity(GO + "sample_qeIdentity_response")).matched());
    }

    @Test
    void outOfDateOrRevokedQeConvergesIntoThePlatformStatus() {
        DcapQuote q = IntelTestData.quote(TRUSTEE + "tdx_quote_4.dat"); // QE isvsvn 4
        TcbInfo info = tcbInfo(GO + "sample_tcbInfo_response");
        QeIdentity qe = qeIdentity(GO + "sample_qeIdentity_response");
        QeIdentity outdated = withQeLevels(qe, List.of(new QeIdentity.Level(9, Instant.EPOCH, TcbStatus.UP_TO_DATE, List.of()),
                new QeIdentity.Level(2, Instant.EPOCH, TcbStatus.OUT_OF_DATE, List.of("INTEL-SA-QE"))));
        TcbEvaluation e = evaluate(q, info, outdated);
        assertEquals(TcbStatus.UP_TO_DATE, e.platformStatus().orElseThrow());
        assertEquals(TcbStatus.OUT_OF_DATE, e.qeStatus().orElseThrow());
        assertEquals(TcbStatus.OUT_OF_DATE, e.status().orElseThrow());
        assertTrue(e.advisoryIds().contains("INTEL-SA-QE"));

        TcbInfo.TcbLevel l = info.tcbLevels().getFirst();
        TcbInfo config = info.withLevels(List.of(new TcbInfo.TcbLevel(l.sgxComponents(), l.pceSvn(), l.tdxComponents(), l.tcbDate(),
                TcbStatus.CONFIGURATION_NEEDED, List.of())));
        assertEquals(TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED, evaluate(q, config, outdated).status().orElseThrow());

        QeIdentity above = withQeLevels(qe, List.of(new QeIdentity.Level(9, Instant.EPOCH, TcbStatus.UP_TO_DATE, List.of())));
        TcbEvaluation revoked = evaluate(q, info, above);
        assertEquals(TcbStatus.REVOKED, revoked.qeStatus().orElseThrow());
        assertEquals(TcbStatus.REVOKED, revoked.status().orElseThrow());
    }

    @Test
    void aQeOfAnotherSignerIsNotTheQuotingEnclave() {
        DcapQuote q = IntelTestData.quote(TRUSTEE + "tdx_quote_4.dat");
        QeIdentity qe = qeIdentity(GO + "sample_qeIdentity_response");
        byte[] signer = qe.mrSigner();
        signer[0] ^= 1;
        QeIdentity other = new QeIdentity(qe.id(), qe.version(), qe.issueDate(), qe.nextUpdate(), qe.miscSelect(), qe.miscSelectMask(),
                qe.attributes(), qe.attributesMask(), signer, qe.isvProdId(), qe.tcbLevels(), qe.raw());
        TcbEvaluation e = evaluate(q, tcbInfo(GO + "sample_tcbInfo_response"), other);
        assertFalse(e.matched());
        assertTrue(e.problems().getFirst().contains("MRSIGNER"), e.problems().toString());
    }

    @Test
    void outOfDateModuleDegradesAndAnUnknownModuleFails() {
        DcapQuote q = IntelTestData.quote(GO + "quote_v5_sample.dat"); // TDX_01, module isvsvn 11
        TcbInfo info = tcbInfo(GO + "sample_tcbinfo_response_v5");
        List<TcbInfo.TdxModuleIdentity> ids = new ArrayList<>();
        for (TcbInfo.TdxModuleIdentity m : info.tdxModuleIdentities()) {
            ids.add(new TcbInfo.TdxModuleIdentity(m.id(), m.mrSigner(), m.attributes(), m.attributesMask(),
                    m.id().equals("TDX_01") ? List.of(new TcbInfo.ModuleLevel(12, Instant.EPOCH, TcbStatus.UP_TO_DATE, List.of()),
                            new TcbInfo.ModuleLevel(2, Instant.EPOCH, TcbStatus.OUT_OF_DATE, List.of("INTEL-SA-MOD"))) : m.tcbLevels()));
        }
        TcbInfo edited = new TcbInfo(info.id(), info.version(), info.issueDate(), info.nextUpdate(), info.fmspc(), info.pceId(),
                info.tcbEvaluationDataNumber(), info.tdxModule(), ids, info.tcbLevels(), info.raw());
        TcbEvaluation e = evaluate(q, edited, qeIdentity(GO + "sample_qeIdentity_response"));
        assertEquals(TcbStatus.UP_TO_DATE, e.platformStatus().orElseThrow());
        assertEquals(TcbStatus.OUT_OF_DATE, e.tdxModuleStatus().orElseThrow());
        assertEquals(TcbStatus.OUT_OF_DATE, e.status().orElseThrow());
        assertTrue(e.advisoryIds().contains("INTEL-SA-MOD"));

        TcbInfo noModule01 = new TcbInfo(info.id(), info.version(), info.issueDate(), info.nextUpdate(), info.fmspc(), info.pceId(),
                info.tcbEvaluationDataNumber(), info.tdxModule(), ids.stream().filter(m -> !m.id().equals("TDX_01")).toList(), info.tcbLevels(), info.raw());
        TcbEvaluation missing = evaluate(q, noModule01, qeIdentity(GO + "sample_qeIdentity_response"));
        assertFalse(missing.matched());
        assertTrue(missing.problems().toString().contains("no TDX module identity TDX_01"), missing.problems().toString());
    }

    @Test
    void v5TcbInfoSignatureVerifiesWithTheSameTcbSigningKey() {
        // The captured chain's TCB Signing certificate expired 2025-05-21 (Intel reissued it with the same key),
        // so at the 2026 issue date only the signature, not the certificate's window, can pass.
        Collateral c = IntelTestData.collateral(IntelTestData.text(GO + "sample_tcbinfo_response_v5"),
                IntelTestData.text(GO + "sample_qeIdentity_response"));
        DcapVerdict v = new DcapVerifier().verify(IntelTestData.quote(GO + "quote_v5_sample.dat"), c, Instant.parse("2026-02-03T00:00:00Z"));
        assertEquals(dev.coffer.attest.verify.CheckResult.Status.PASS, v.check("tcb_info_signature").orElseThrow().status());
        assertEquals(dev.coffer.attest.verify.CheckResult.Status.PASS, v.check("tcb_status").orElseThrow().status());
        assertTrue(v.check("certificate_validity").orElseThrow().failed(), "the expired TCB Signing copy must fail its window");
        assertFalse(v.valid());
    }

    @Test
    void tcbInfoParsingRefusesBadShapes() {
        assertTrue(assertThrows(QuoteFormatException.class, () -> TcbInfo.parse(IntelTestData.text(GO + "sample_tcbInfo_response")))
                .getMessage().contains("whole PCS response"));
        assertTrue(assertThrows(QuoteFormatException.class, () -> TcbInfo.parse("{\"version\":4}")).getMessage().contains("version is 4"));
        assertTrue(assertThrows(QuoteFormatException.class, () -> TcbStatus.fromPcs("Fine")).getMessage().contains("unknown tcbStatus"));
    }

    private static QeIdentity withQeLevels(QeIdentity qe, List<QeIdentity.Level> levels) {
        return new QeIdentity(qe.id(), qe.version(), qe.issueDate(), qe.nextUpdate(), qe.miscSelect(), qe.miscSelectMask(),
                qe.attributes(), qe.attributesMask(), qe.mrSigner(), qe.isvProdId(), levels, qe.raw());
    }
}
