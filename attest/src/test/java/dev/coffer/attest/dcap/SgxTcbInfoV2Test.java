package dev.coffer.attest.dcap;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The SGX path of the evaluator and the v2 TCB info format (per-component fields
 * sgxtcbcompNNsvn), on the captured Occlum SGX quote (PCK SVNs [4,4,3,3,255,255,0…], PCESVN 11,
 * QE isvsvn 8). No v2 or SGX collateral is in the shared data, so these documents are written
 * here in PCS's v2 shape; signatures are not involved.
 */
class SgxTcbInfoV2Test {
    private static String level(int[] comps, int pceSvn, String status, String advisories) {
        StringBuilder sb = new StringBuilder("{\"tcb\":{");
        for (int i = 0; i < 16; i++) sb.append("\"sgxtcbcomp%02dsvn\":%d,".formatted(i + 1, comps[i]));
        sb.append("\"pcesvn\":").append(pceSvn).append("},\"tcbDate\":\"2023-02-15T00:00:00Z\",\"tcbStatus\":\"").append(status).append('"');
        if (advisories != null) sb.append(",\"advisoryIDs\":[").append(advisories).append(']');
        return sb.append('}').toString();
    }

    private static TcbInfo v2(String... levels) {
        return TcbInfo.parse("{\"version\":2,\"issueDate\":\"2023-06-01T00:00:00Z\",\"nextUpdate\":\"2023-07-01T00:00:00Z\","
                + "\"fmspc\":\"00606a000000\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":15,\"tcbLevels\":["
                + String.join(",", levels) + "]}");
    }

    private static final QeIdentity QE = QeIdentity.parse("{\"id\":\"QE\",\"version\":2,\"issueDate\":\"2023-06-01T00:00:00Z\","
            + "\"nextUpdate\":\"2023-07-01T00:00:00Z\",\"tcbEvaluationDataNumber\":15,\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
            + "\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
            + "\"mrsigner\":\"8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF\",\"isvprodid\":1,"
            + "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2023-02-15T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}");

    private static TcbEvaluation evaluate(TcbInfo info) {
        DcapQuote q = IntelTestData.quote("intel/sgx-trustee/occlum_quote.dat");
        return TcbEvaluator.evaluate(info, PckExtensions.of(q.pckChain().getFirst()), Optional.empty(), QE, q.qeReport());
    }

    @Test
    void firstLevelAtOrBelowThePlatformDecides() {
        int[] newer = {5, 5, 3, 3, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        int[] same = {4, 4, 3, 3, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        TcbInfo info = v2(level(newer, 11, "UpToDate", null), level(same, 12, "UpToDate", null),
                level(same, 11, "SWHardeningNeeded", "\"INTEL-SA-00615\""), level(new int[16], 0, "OutOfDate", "\"INTEL-SA-00001\""));
        assertEquals("SGX", info.id());
        TcbEvaluation e = evaluate(info);
        assertTrue(e.matched(), e.problems().toString());
        assertEquals(TcbStatus.SW_HARDENING_NEEDED, e.status().orElseThrow());
        assertEquals(java.util.List.of("INTEL-SA-00615"), e.advisoryIds());
        assertEquals(TcbStatus.UP_TO_DATE, e.qeStatus().orElseThrow());
        assertTrue(e.tdxModuleStatus().isEmpty());
    }

    @Test
    void aPlatformBelowEveryLevelMatchesNone() {
        int[] newer = {5, 5, 3, 3, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        TcbEvaluation e = evaluate(v2(level(newer, 11, "UpToDate", null)));
        assertFalse(e.matched());
        assertTrue(e.problems().getFirst().contains("no TCB level"));
    }

    @Test
    void aV2LevelMissingAComponentIsNamed() {
        String broken = level(new int[16], 0, "UpToDate", null).replace("\"sgxtcbcomp07svn\":0,", "");
        QuoteFormatException ex = assertThrows(QuoteFormatException.class, () -> v2(broken));
        assertTrue(ex.getMessage().contains("sgxtcbcomp07svn"), ex.getMessage());
    }
}
