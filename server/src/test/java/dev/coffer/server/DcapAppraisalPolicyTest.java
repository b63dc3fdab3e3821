package dev.coffer.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.server.appraisal.AppraisalDecision;
import dev.coffer.server.appraisal.DcapAppraisalPolicy;
import dev.coffer.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The default SGX/TDX appraisal refuses debuggable and non-UpToDate workloads; an operator policy can accept more. */
class DcapAppraisalPolicyTest {
    static ObjectNode input(boolean debug, boolean allowDebug, String status, List<String> advisories) {
        ObjectNode in = Json.MAPPER.createObjectNode();
        in.put("tee", "sgx");
        in.put("debuggable", debug);
        in.put("allow_debug", allowDebug);
        in.put("tcb_status", status);
        in.set("advisory_ids", Json.MAPPER.valueToTree(advisories));
        in.set("claims", Json.MAPPER.createObjectNode().put("x-ms-sgx-mrsigner", "83d7"));
        return in;
    }

    @Test
    void defaultRefusesDebugAndEveryStatusButUpToDate(@TempDir Path serverDir) {
        DcapAppraisalPolicy p = DcapAppraisalPolicy.load(serverDir);
        assertTrue(p.appraise(input(false, false, "UpToDate", List.of())).accepted());
        AppraisalDecision debug = p.appraise(input(true, false, "UpToDate", List.of()));
        assertEquals("not_debuggable", debug.rule());
        assertTrue(p.appraise(input(true, true, "UpToDate", List.of())).accepted());
        for (String s : List.of("SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                "OutOfDateConfigurationNeeded", "Revoked")) {
            AppraisalDecision d = p.appraise(input(false, false, s, List.of("INTEL-SA-00615")));
            assertEquals("tcb_up_to_date", d.rule(), s);
            assertTrue(d.reason().contains(s) && d.reason().contains("INTEL-SA-00615"), d.reason());
        }
    }

    @Test
    void operatorPolicyCanAcceptAListedAdvisoryAndPinTheSigner(@TempDir Path serverDir) throws Exception {
        Files.writeString(serverDir.resolve(DcapAppraisalPolicy.OPERATOR_FILE), """
                package appraisal
                accepted := {"INTEL-SA-00615"}
                deny contains {"rule": "tcb", "reason": "status"} if {
                	input.tcb_status != "UpToDate"
                	input.tcb_status != "SWHardeningNeeded"
                }
                deny contains {"rule": "advisory", "reason": sprintf("%s not accepted", [a])} if {
                	some a in input.advisory_ids
                	not accepted[a]
                }
                deny contains {"rule": "signer", "reason": "wrong signer"} if input.claims["x-ms-sgx-mrsigner"] != "83d7"
                """);
        DcapAppraisalPolicy p = DcapAppraisalPolicy.load(serverDir);
        assertTrue(p.appraise(input(false, false, "SWHardeningNeeded", List.of("INTEL-SA-00615"))).accepted());
        assertEquals("advisory", p.appraise(input(false, false, "SWHardeningNeeded", List.of("INTEL-SA-00999"))).rule());
        assertEquals("tcb", p.appraise(input(false, false, "OutOfDate", List.of())).rule());
        ObjectNode other = input(false, false, "UpToDate", List.of());
        other.set("claims", Json.MAPPER.createObjectNode().put("x-ms-sgx-mrsigner", "ffff"));
        assertEquals("signer", p.appraise(other).rule());
    }

    @Test
    void aBrokenPolicyDoesNotStartTheServer(@TempDir Path serverDir) throws Exception {
        Files.writeString(serverDir.resolve(DcapAppraisalPolicy.OPERATOR_FILE), "package appraisal\ndeny contains x if {");
        assertThrows(IllegalArgumentException.class, () -> DcapAppraisalPolicy.load(serverDir));
    }
}
