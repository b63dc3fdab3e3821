package dev.coffer.server.appraisal;

/**
 * The default rules: a debuggable guest only when debugging is allowed, and the MEASUREMENT in
 * the reference values when any are configured. (Signature, chain and TCB checks happened in
 * verification; evidence reaching appraisal already passed them.)
 */
public final class DefaultAppraisalPolicy implements AppraisalPolicy {
    @Override
    public AppraisalDecision appraise(AppraisalInput in) {
        if (in.debuggable() && !in.allowDebug()) {
            return AppraisalDecision.deny("not_debuggable", "the guest policy allows debugging (the host can read guest memory); "
                    + "the server accepts debuggable guests only with allowDebug");
        }
        if (!in.referenceMeasurements().isEmpty() && !in.referenceMeasurements().contains(in.measurementHex())) {
            return AppraisalDecision.deny("reference_measurement", "MEASUREMENT " + in.measurementHex()
                    + " is not among the " + in.referenceMeasurements().size() + " configured reference values");
        }
        return AppraisalDecision.accept();
    }

    @Override
    public String describe() {
        return "default (java): not debuggable unless allowed; measurement in reference values when configured";
    }
}
