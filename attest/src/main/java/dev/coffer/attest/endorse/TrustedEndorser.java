package dev.coffer.attest.endorse;

/**
 * An endorser a verifier trusts: its did:x509 issuer, the feed it signs for ({@code null} for
 * any feed of that issuer), and the minimum guest SVN it accepts.
 */
public record TrustedEndorser(String did, String feed, long minimumGuestSvn) {
    /**
     * Microsoft's signer of the utility VMs of Azure's confidential containers (ACI, AKS):
     * issuer did:x509 pinning "Microsoft Supply Chain RSA Root CA 2022" with Microsoft's UVM
     * signing EKU, feed ContainerPlat-AMD-UVM. The values are those that Azure's own verifiers
     * pin: CCF's UVM endorsement tests (microsoft/CCF, src/node/test/uvm_endorsements.cpp) and
     * Microsoft's CoseSignTool CoseSign1Message UVM checks ({@code TrustedMicrosoftIssValue},
     * {@code TrustedMicrosoftFeedValue}).
     */
    public static final TrustedEndorser MICROSOFT_UVM = new TrustedEndorser(
            "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2",
            "ContainerPlat-AMD-UVM", 0);

    public TrustedEndorser {
        DidX509.parse(did);
        if (feed != null && feed.isBlank()) feed = null;
        if (minimumGuestSvn < 0) throw new IllegalArgumentException("minimum guest SVN " + minimumGuestSvn + " is negative");
    }

    /** This endorser with another minimum SVN. */
    public TrustedEndorser withMinimumGuestSvn(long svn) {
        return new TrustedEndorser(did, feed, svn);
    }

    /** True when an endorsement's issuer and feed are this endorser's. */
    public boolean matches(String issuer, String endorsementFeed) {
        return did.equals(issuer) && (feed == null || feed.equals(endorsementFeed));
    }

    /** Whether this is Microsoft's UVM endorser (same issuer and feed), whatever the minimum SVN. */
    public boolean isMicrosoftUvm() {
        return did.equals(MICROSOFT_UVM.did) && MICROSOFT_UVM.feed.equals(feed);
    }

    /**
     * Parses {@code DID[,FEED[,MIN_SVN]]} as the CLI and server configuration write it.
     * Throws {@link EndorsementFormatException} with what is wrong.
     */
    public static TrustedEndorser parse(String spec) {
        String[] parts = spec.split(",", -1);
        if (parts.length > 3) throw new EndorsementFormatException("trusted endorser \"" + GuestEndorsement.abbreviate(spec) + "\": expected DID[,FEED[,MIN_SVN]]");
        String feed = parts.length > 1 && !parts[1].isBlank() ? parts[1].strip() : null;
        long min = 0;
        if (parts.length > 2) {
            try {
                min = Long.parseLong(parts[2].strip());
            } catch (NumberFormatException e) {
                throw new EndorsementFormatException("trusted endorser minimum SVN \"" + parts[2] + "\" is not a number");
            }
            if (min < 0) throw new EndorsementFormatException("trusted endorser minimum SVN " + min + " is negative");
        }
        return new TrustedEndorser(parts[0].strip(), feed, min);
    }
}
