package dev.coffer.agent.skr;

/**
 * What the TEE hands out for one REPORT_DATA: the raw attestation report and the PEM bundle
 * that lets a verifier check its signature (VCEK, then ASK and ARK when known).
 *
 * @param report       the raw report (1184 bytes for SEV-SNP)
 * @param certChainPem VCEK first, then the chain; what MAA's {@code VcekCertChain} carries
 */
public record Evidence(byte[] report, String certChainPem) {
    public Evidence {
        if (report == null || report.length == 0) throw new IllegalArgumentException("evidence needs a report, found none");
        report = report.clone();
        if (certChainPem == null) certChainPem = "";
    }

    @Override
    public byte[] report() {
        return report.clone();
    }
}
