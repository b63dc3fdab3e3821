package dev.coffer.server.appraisal;

/**
 * Decides whether verified evidence earns a token. Verification (is the report genuine?) is the
 * attest module's job; appraisal (is this the guest we want?) is policy, kept behind this
 * interface so the rules can be replaced (e.g. by a Rego policy) without touching the service.
 */
public interface AppraisalPolicy {
    AppraisalDecision appraise(AppraisalInput input);

    /** A short name for logs and the health endpoint. */
    String describe();
}
