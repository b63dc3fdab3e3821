package dev.coffer.server.token;

import dev.coffer.attest.verify.TeeKind;

/**
 * The values of the {@code x-ms-attestation-type} claim. Simulated evidence has its own type so
 * that no release policy written for real hardware ({@code sevsnpvm}, MAA's value) can match a
 * simulated guest by accident; {@code x-coffer-tee} says the same in Coffer's words.
 */
public final class AttestationTypes {
    /** MAA's type for SEV-SNP evidence from AMD hardware. */
    public static final String SEVSNPVM = "sevsnpvm";
    /** Evidence from Coffer's simulated secure processor (development only). */
    public static final String SIM_SEVSNPVM = "coffer-sim-sevsnpvm";

    private AttestationTypes() {}

    /** The attestation type for evidence whose chain ended at a root of this kind. */
    public static String of(TeeKind tee) {
        return switch (tee) {
            case REAL -> SEVSNPVM;
            case SIM -> SIM_SEVSNPVM;
            case UNKNOWN -> throw new IllegalArgumentException("evidence from an untrusted root gets no attestation type");
        };
    }

    /** The type for a {@code --tee} / {@code x-coffer-tee} name: {@code sim} or {@code snp}. */
    public static String ofTeeName(String tee) {
        return "sim".equals(tee) ? SIM_SEVSNPVM : SEVSNPVM;
    }
}
