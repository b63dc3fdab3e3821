package dev.coffer.server.token;

import dev.coffer.attest.evidence.EvidenceKind;

/**
 * The values of the {@code x-ms-attestation-type} claim, as {@link EvidenceKind} declares them.
 * Simulated evidence has its own type so that no release policy written for real hardware
 * ({@code sevsnpvm}, MAA's value) can match a simulated guest by accident; {@code x-coffer-tee}
 * says the same in Coffer's words.
 */
public final class AttestationTypes {
    /** MAA's type for SEV-SNP evidence from AMD hardware. */
    public static final String SEVSNPVM = EvidenceKind.SEV_SNP.attestationType();
    /** Evidence from Coffer's simulated secure processor (development only). */
    public static final String SIM_SEVSNPVM = EvidenceKind.SIMULATED.attestationType();

    private AttestationTypes() {}
}
