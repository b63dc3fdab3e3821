package dev.coffer.server.appraisal;

import java.util.List;

/**
 * What an appraisal policy decides on: evidence that already verified (signature, chain, TCB,
 * revocation) and whose MEASUREMENT already passed the service's fail-closed gate (endorsed,
 * a reference value, or explicitly unchecked), reduced to the facts the rules look at.
 *
 * @param tee                  {@code snp} or {@code sim}
 * @param debuggable           the guest policy allows debugging
 * @param measurementHex       MEASUREMENT, lower-case hex
 * @param hostDataHex          HOST_DATA, lower-case hex
 * @param allowDebug           the server is configured to accept debuggable guests
 * @param referenceMeasurements the configured reference MEASUREMENT values (lower-case hex)
 * @param vmpl                 the VMPL the report was requested at (0 = the guest's most privileged level)
 * @param smt                  the guest policy allows SMT
 * @param migrationAgent       the guest policy allows a migration agent
 * @param measurementSource    how the MEASUREMENT was accepted: {@code endorsement}, {@code reference-value} or {@code unchecked}
 * @param complianceStatus     {@code azure-compliant-uvm}, {@code coffer-compliant-guest}, or null when not endorsed
 */
public record AppraisalInput(String tee, boolean debuggable, String measurementHex, String hostDataHex, boolean allowDebug,
                             List<String> referenceMeasurements, int vmpl, boolean smt, boolean migrationAgent,
                             String measurementSource, String complianceStatus) {
    public AppraisalInput {
        referenceMeasurements = List.copyOf(referenceMeasurements);
    }

    /** Input with only the facts older policies looked at (VMPL 0, SMT and migration agent off, measurement from a reference value). */
    public AppraisalInput(String tee, boolean debuggable, String measurementHex, String hostDataHex, boolean allowDebug,
                          List<String> referenceMeasurements) {
        this(tee, debuggable, measurementHex, hostDataHex, allowDebug, referenceMeasurements, 0, false, false, "reference-value", null);
    }
}
