package dev.coffer.agent.skr;

/**
 * The group's TEE as the SKR API sees it: a report bound to caller-chosen REPORT_DATA. For
 * {@code --tee sim} this is {@link SimEvidenceSource}; on SEV-SNP hardware it is the guest's
 * {@code /dev/sev-guest} (or configfs-tsm) report interface.
 */
public interface EvidenceSource {
    /**
     * A fresh report carrying {@code reportData} (exactly 64 bytes) plus its certificate chain.
     * Implementations throw {@link IllegalStateException} with a one-line reason when the TEE
     * cannot produce a report.
     */
    Evidence evidence(byte[] reportData);

    /** {@code sim} or {@code snp}: shown by {@code GET /status}. */
    String tee();
}
