package dev.coffer.attest.measure.snp;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The generation of AMD memory encryption the guest is launched with. SEV-SNP chains SHA-384
 * over PAGE_INFO structures; SEV and SEV-ES hash the launch blobs with SHA-256.
 */
public enum SevMode {
    SNP("snp", 48),
    SEV_ES("seves", 32),
    SEV("sev", 32);

    private final String cliName;
    private final int digestLength;

    SevMode(String cliName, int digestLength) {
        this.cliName = cliName;
        this.digestLength = digestLength;
    }

    public String cliName() {
        return cliName;
    }

    /** MEASUREMENT length in bytes: 48 (SHA-384) for SNP, 32 (SHA-256) for SEV and SEV-ES. */
    public int digestLength() {
        return digestLength;
    }

    /** Accepts the spellings sev-snp-measure accepts: snp, sev-snp, seves, sev-es, sev (any case). */
    public static SevMode parse(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return switch (n) {
            case "snp", "sev-snp" -> SNP;
            case "seves", "sev-es" -> SEV_ES;
            case "sev" -> SEV;
            default -> throw new IllegalArgumentException("unknown mode '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(SevMode::cliName).collect(Collectors.joining(", ")));
        };
    }
}
