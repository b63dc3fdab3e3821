package dev.coffer.attest.evidence;

/**
 * The kinds of evidence, with the attestation type MAA reports for each. {@code hardware} is
 * false only for the simulated TEE, whose type no hardware policy matches.
 */
public enum EvidenceKind {
    SEV_SNP("sevsnpvm", true),
    SGX("sgx", true),
    TDX("tdxvm", true),
    SIMULATED("coffer-sim-sevsnpvm", false);

    private final String attestationType;
    private final boolean hardware;

    EvidenceKind(String attestationType, boolean hardware) {
        this.attestationType = attestationType;
        this.hardware = hardware;
    }

    /** The {@code x-ms-attestation-type} claim. */
    public String attestationType() {
        return attestationType;
    }

    public boolean hardware() {
        return hardware;
    }
}
