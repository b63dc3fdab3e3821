package dev.coffer.server;

import dev.coffer.server.appraisal.AppraisalDecision;
import dev.coffer.server.appraisal.AppraisalInput;
import dev.coffer.server.appraisal.DefaultAppraisalPolicy;
import dev.coffer.server.appraisal.RegoAppraisalPolicy;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class AppraisalPolicyTest {
    static final String M = "11".repeat(48);

    @Test
    void defaultRegoPolicyAgreesWithTheJavaRules() {
        RegoAppraisalPolicy rego = RegoAppraisalPolicy.defaultPolicy();
        DefaultAppraisalPolicy java = new DefaultAppraisalPolicy();
        for (boolean debuggable : new boolean[] {false, true}) {
            for (boolean allowDebug : new boolean[] {false, true}) {
                for (List<String> refs : List.of(List.<String>of(), List.of(M), List.of("22".repeat(48)))) {
                    AppraisalInput in = new AppraisalInput("sim", debuggable, M, "33".repeat(32), allowDebug, refs);
                    AppraisalDecision r = rego.appraise(in);
                    AppraisalDecision j = java.appraise(in);
                    assertEquals(j.accepted(), r.accepted(), in.toString());
                    if (!j.accepted()) assertTrue(r.rule().contains(j.rule()), r + " vs " + j);
                    // the MEASUREMENT gate is the service's, before any policy: no appraisal rule re-checks it
                    assertEquals(!debuggable || allowDebug, r.accepted(), in.toString());
                }
            }
        }
    }

    @Test
    void operatorPoliciesSeeThePlatformBitsAndHowTheMeasurementWasAccepted() {
        RegoAppraisalPolicy strict = RegoAppraisalPolicy.compile("strict.rego", """
                package appraisal
                deny contains {"rule": "vmpl0", "reason": "only VMPL 0"} if input.vmpl != 0
                deny contains {"rule": "no_smt", "reason": "SMT must be off"} if input.smt
                deny contains {"rule": "no_migration", "reason": "no migration agent"} if input.migration_agent
                deny contains {"rule": "endorsed", "reason": "endorsed guests only"} if input.measurement_source != "endorsement"
                deny contains {"rule": "azure", "reason": "Azure's UVMs only"} if input.compliance_status != "azure-compliant-uvm"
                """);
        AppraisalInput ok = new AppraisalInput("snp", false, M, "33".repeat(32), false, List.of(), 0, false, false, "endorsement",
                "azure-compliant-uvm");
        assertTrue(strict.appraise(ok).accepted());
        AppraisalDecision d = strict.appraise(new AppraisalInput("snp", false, M, "33".repeat(32), false, List.of(), 2, true, true,
                "reference-value", null));
        assertFalse(d.accepted());
        for (String rule : List.of("vmpl0", "no_smt", "no_migration", "endorsed", "azure")) assertTrue(d.rule().contains(rule), d.rule());
    }

    @Test
    void operatorPoliciesAreCompiledAndBrokenOnesFailClosed() {
        RegoAppraisalPolicy onlySnp = RegoAppraisalPolicy.compile("only-snp.rego", """
                package appraisal
                deny contains {"rule": "real_hardware", "reason": "simulated evidence is not accepted here"} if input.tee != "snp"
                """);
        AppraisalDecision d = onlySnp.appraise(new AppraisalInput("sim", false, M, "33".repeat(32), false, List.of()));
        assertFalse(d.accepted());
        assertEquals("real_hardware", d.rule());
        assertTrue(onlySnp.appraise(new AppraisalInput("snp", false, M, "33".repeat(32), false, List.of())).accepted());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> RegoAppraisalPolicy.compile("broken.rego", "package appraisal\ndeny contains x if {"));
        assertTrue(bad.getMessage().contains("broken.rego"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RegoAppraisalPolicy.compile("wrong.rego", "package other\nx := 1"));
        RegoAppraisalPolicy notASet = RegoAppraisalPolicy.compile("notaset.rego", "package appraisal\ndeny := 5");
        assertFalse(notASet.appraise(new AppraisalInput("snp", false, M, "33".repeat(32), false, List.of())).accepted());
    }
}
