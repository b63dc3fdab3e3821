package dev.coffer.server.appraisal;

import java.util.List;

/**
 * What an appraisal policy decides on: evidence that already verified (signature, chain, TCB),
 * reduced to the facts the rules look at, plus the configured reference values.
 *
 * @param tee                  {@code snp} or {@code sim}
 * @param debuggable           the guest policy allows debugging
 * @param measurementHex       MEASUREMENT, lower-case hex
 * @param hostDataHex          HOST_DATA, lower-case hex
 * @param allowDebug           the server is configured to accept debuggable guests
 * @param referenceMeasurements accepted MEASUREMENT values (lower-case hex); empty means "any"
 */
public record AppraisalInput(String tee, boolean debuggable, String measurementHex, String hostDataHex, boolean allowDebug,
                             List<String> referenceMeasurements) {
    public AppraisalInput {
        referenceMeasurements = List.copyOf(referenceMeasurements);
    }
}
