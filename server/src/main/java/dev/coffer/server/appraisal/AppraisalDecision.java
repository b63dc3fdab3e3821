package dev.coffer.server.appraisal;

/** Accepted, or denied by the named rule with a reason. */
public record AppraisalDecision(boolean accepted, String rule, String reason) {
    public static AppraisalDecision accept() {
        return new AppraisalDecision(true, null, null);
    }

    public static AppraisalDecision deny(String rule, String reason) {
        return new AppraisalDecision(false, rule, reason);
    }
}
