package dev.coffer.agent.skr;

/**
 * The group's TEE as the SKR API sees it: a report bound to caller-chosen REPORT_DATA. For
 * {@code --tee sim} this is {@link dev.coffer.agent.tee.SimEvidenceSource}; on SEV-SNP hardware it is the guest's
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

    /**
     * The guest's endorsement (COSE_Sign1) the host supplied at launch, sent as opaque data with
     * every attestation request (the in-group SKR API's and the encrypted volumes'); null for none.
     */
    default byte[] guestEndorsement() {
        return null;
    }

    /** {@code source} with {@code cose} as the guest's endorsement (null: {@code source} itself). */
    static EvidenceSource endorsed(EvidenceSource source, byte[] cose) {
        if (source == null || cose == null) return source;
        byte[] copy = cose.clone();
        return new EvidenceSource() {
            @Override
            public Evidence evidence(byte[] reportData) {
                return source.evidence(reportData);
            }

            @Override
            public String tee() {
                return source.tee();
            }

            @Override
            public byte[] guestEndorsement() {
                return copy.clone();
            }
        };
    }
}
