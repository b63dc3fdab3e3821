package dev.coffer.attest.evidence;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The kinds of evidence, declared once: every list of kinds (the attestation endpoints, the
 * {@code --tee} and {@code --mode} values, the claims a token may carry) is derived from here,
 * so a new TEE is one constant (and one {@link Evidence} member), not an edit in every caller.
 * {@code hardware} is false only for the simulated TEE, whose attestation type no hardware policy
 * matches.
 */
public enum EvidenceKind {
    SEV_SNP("sevsnpvm", true, "snp", "SevSnpVm", "measurement", "host_data"),
    SGX("sgx", true, "sgx", "SgxEnclave", "mrenclave", "configId"),
    TDX("tdxvm", true, "tdx", "TdxVm", "mrtd", "mrconfigid"),
    // Same wire format and endpoint as SEV-SNP; only the root the chain ends at tells them apart.
    SIMULATED("coffer-sim-sevsnpvm", false, "sim", "SevSnpVm", "measurement", "host_data");

    private final String attestationType;
    private final boolean hardware;
    private final String label;
    private final String endpoint;
    private final String measurementField;
    private final String launchDataField;

    EvidenceKind(String attestationType, boolean hardware, String label, String endpoint, String measurementField,
                 String launchDataField) {
        this.attestationType = attestationType;
        this.hardware = hardware;
        this.label = label;
        this.endpoint = endpoint;
        this.measurementField = measurementField;
        this.launchDataField = launchDataField;
    }

    /** The {@code x-ms-attestation-type} claim. */
    public String attestationType() {
        return attestationType;
    }

    public boolean hardware() {
        return hardware;
    }

    /** The short name users type and tokens carry ({@code --tee}, {@code x-coffer-tee}): snp, sgx, tdx, sim. */
    public String label() {
        return label;
    }

    /** The MAA-style endpoint the evidence is posted to: {@code POST /attest/<endpoint>}. */
    public String endpoint() {
        return endpoint;
    }

    /** The {@link Claims#fields()} name of what measures the launched code (MEASUREMENT, MRENCLAVE, MRTD). */
    public String measurementField() {
        return measurementField;
    }

    /**
     * The {@link Claims#fields()} name of the data the launcher binds to the launch and the TEE
     * reports unchanged (HOST_DATA for SEV-SNP, CONFIGID for SGX, MRCONFIGID for TDX): where
     * Coffer binds the policy.
     */
    public String launchDataField() {
        return launchDataField;
    }

    /** Every kind's label, in declaration order: what a {@code --tee}/{@code --mode} option accepts. */
    public static List<String> labels() {
        return Arrays.stream(values()).map(EvidenceKind::label).toList();
    }

    /** The attestation endpoints, each once, in declaration order (SEV-SNP and the simulated TEE share one). */
    public static List<String> endpoints() {
        return Arrays.stream(values()).map(EvidenceKind::endpoint).distinct().toList();
    }

    /** The kinds posted to {@code endpoint}. */
    public static List<EvidenceKind> atEndpoint(String endpoint) {
        return Arrays.stream(values()).filter(k -> k.endpoint.equals(endpoint)).toList();
    }

    /** The kind whose label is {@code label} (case-insensitive). */
    public static Optional<EvidenceKind> byLabel(String label) {
        if (label == null) return Optional.empty();
        String l = label.toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(k -> k.label.equals(l)).findFirst();
    }

    /**
     * The kind named {@code label}, or an {@link IllegalArgumentException} that lists the valid
     * labels, for option parsing.
     */
    public static EvidenceKind parse(String label, String what) {
        return byLabel(label).orElseThrow(() -> new IllegalArgumentException("expected " + what + " to be one of "
                + String.join("|", labels()) + ", found \"" + label + "\""));
    }
}
