package dev.coffer.attest.evidence;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What verified evidence says, the same shape for every kind: the common facts typed, and every
 * kind-specific field under its stable name ({@code measurement}, {@code mrenclave},
 * {@code mrtd}, {@code rtmr0} …, hex for bytes), which token claims and policies are built from.
 *
 * @param reportData the 64 bytes the workload bound (hex)
 * @param tcbStatus  the platform's TCB status from collateral (SGX/TDX), empty where the kind has none
 */
public record Claims(EvidenceKind kind, boolean debuggable, String reportData, Optional<String> tcbStatus, List<String> advisoryIds,
                     Map<String, Object> fields) {
    public Claims {
        advisoryIds = List.copyOf(advisoryIds);
        fields = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(fields));
    }

    /** What measures the launched code, hex: MEASUREMENT, MRENCLAVE or MRTD by {@link EvidenceKind#measurementField()}. */
    public String measurement() {
        return (String) fields.get(kind.measurementField());
    }

    /** The launcher's bound data, hex: HOST_DATA, CONFIGID or MRCONFIGID by {@link EvidenceKind#launchDataField()}. */
    public String launchData() {
        return (String) fields.get(kind.launchDataField());
    }
}
