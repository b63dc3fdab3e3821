package dev.coffer.server.token;

import java.util.List;

/**
 * Claims that say which guest image was launched and who vouched for it, next to MAA's
 * {@code x-ms-sevsnpvm-*} platform claims. Release policies pin {@link #COMPLIANCE_STATUS}
 * together with the host data: host data names a policy, the compliance status says the
 * guest that enforces it is one a trusted endorser signed.
 */
public final class ComplianceClaims {
    /** MAA's claim: {@code azure-compliant-uvm} for Microsoft's UVMs, {@code coffer-compliant-guest} for Coffer's endorsers. */
    public static final String COMPLIANCE_STATUS = "x-ms-compliance-status";
    /** The endorsement's issuer ({@code did:x509:...}). */
    public static final String ENDORSEMENT_ISSUER = "x-coffer-endorsement-issuer";
    /** The endorsement's feed (e.g. {@code ContainerPlat-AMD-UVM}). */
    public static final String ENDORSEMENT_FEED = "x-coffer-endorsement-feed";
    /** The endorsement's guest SVN (decimal string, as in the endorsement). */
    public static final String ENDORSEMENT_SVN = "x-coffer-endorsement-svn";
    /** Present and true when the server accepted the MEASUREMENT without an endorsement or reference value. */
    public static final String MEASUREMENT_UNCHECKED = "x-coffer-measurement-unchecked";
    /** How the MEASUREMENT was accepted: {@code endorsement}, {@code reference-value} or {@code unchecked}. */
    public static final String MEASUREMENT_SOURCE = "x-coffer-measurement-source";

    public static final List<String> ALL = List.of(COMPLIANCE_STATUS, ENDORSEMENT_ISSUER, ENDORSEMENT_FEED, ENDORSEMENT_SVN,
            MEASUREMENT_UNCHECKED, MEASUREMENT_SOURCE);

    private ComplianceClaims() {}
}
