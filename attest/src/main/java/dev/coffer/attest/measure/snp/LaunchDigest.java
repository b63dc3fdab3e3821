package dev.coffer.attest.measure.snp;

import java.util.HexFormat;
import java.util.List;

/**
 * A computed launch digest: the MEASUREMENT an attestation report of this launch carries (48
 * bytes for SEV-SNP, 32 for SEV and SEV-ES), and, when asked for, the steps that produced it.
 */
public record LaunchDigest(SevMode mode, byte[] measurement, List<MeasuredStep> steps) {
    public LaunchDigest {
        measurement = measurement.clone();
        steps = List.copyOf(steps);
    }

    @Override
    public byte[] measurement() {
        return measurement.clone();
    }

    public String hex() {
        return HexFormat.of().formatHex(measurement);
    }
}
