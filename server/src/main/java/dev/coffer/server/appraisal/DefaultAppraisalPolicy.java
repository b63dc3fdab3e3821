package dev.coffer.server.appraisal;

/**
 * The default rules: a debuggable guest only when debugging is allowed. (Signature, chain, TCB
 * and revocation checks happened in verification, and the MEASUREMENT passed the service's
 * fail-closed endorsement gate; evidence reaching appraisal already passed them.)
 */
public final class DefaultAppraisalPolicy implements AppraisalPolicy {
    @Override
    public AppraisalDecision appraise(AppraisalInput in) {
        if (in.debuggable() && !in.allowDebug()) {
            return AppraisalDecision.deny("not_debuggable", "the guest policy allows debugging (the host can read guest memory); "
                    + "the server accepts debuggable guests only with allowDebug");
        }
        return AppraisalDecision.accept();
    }

    @Override
    public String describe() {
        return "default (java): not debuggable unless allowed";
    }
}
