package dev.coffer.attest.endorse;

import dev.coffer.attest.verify.CheckResult;

import java.util.List;
import java.util.Optional;

/**
 * The outcome of appraising one endorsement against one report: endorsed only when every
 * check passed.
 *
 * @param endorsed          all checks passed
 * @param checks            the named checks, in the order {@link EndorsementVerifier#CHECKS}
 * @param complianceStatus  {@value EndorsementVerifier#AZURE_COMPLIANT_UVM} or
 *                          {@value EndorsementVerifier#COFFER_COMPLIANT_GUEST} when endorsed, else null
 * @param matchedEndorser   the trusted endorser whose issuer and feed matched, or null
 * @param endorsement       what was appraised
 */
public record EndorsementVerdict(boolean endorsed, List<CheckResult> checks, String complianceStatus,
                                 TrustedEndorser matchedEndorser, GuestEndorsement endorsement) {
    public EndorsementVerdict {
        checks = List.copyOf(checks);
    }

    public List<CheckResult> failures() {
        return checks.stream().filter(CheckResult::failed).toList();
    }

    public Optional<CheckResult> check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /** "endorsed (...)" or "not endorsed: name (detail); ..." on one line. */
    public String summary() {
        if (endorsed) return "endorsed (" + complianceStatus + ", issuer " + endorsement.issuer() + ", feed " + endorsement.feed() + ", svn " + endorsement.guestSvn() + ")";
        StringBuilder sb = new StringBuilder("not endorsed:");
        for (CheckResult f : failures()) sb.append(' ').append(f.name()).append(" (").append(f.detail()).append(");");
        sb.setLength(sb.length() - 1);
        return sb.toString();
    }
}
