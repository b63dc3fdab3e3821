package dev.coffer.agent.tee;

import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.attest.evidence.Evidence;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.attest.measure.HostData;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The startup check of {@link GuestTee}, for any TEE kind: the answer to a fresh request is read
 * through the evidence model as evidence of the kind the TEE is (so the agent parses no TEE format
 * itself), and its launch-bound data must be the policy's hash. Kept apart from {@link GuestTee},
 * whose members are sealed, so a hostile answer can be fed to it in tests.
 */
final class LaunchBinding {
    /** REPORT_DATA of the startup self-check report: a tag no host request can produce (see {@link HostChallenge}). */
    static final byte[] STARTUP_REPORT_DATA = Arrays.copyOf("coffer-agent-startup/v1".getBytes(StandardCharsets.US_ASCII), 64);

    private LaunchBinding() {}

    /** What the launch-bound data is called in {@code kind}'s reports: HOST_DATA, MRCONFIGID. */
    static String name(EvidenceKind kind) {
        return kind.launchDataField().toUpperCase(Locale.ROOT);
    }

    /**
     * The launch-bound data {@code tee}, a TEE of {@code kind}, reports for this launch, from a
     * fresh answer for {@link #STARTUP_REPORT_DATA}.
     *
     * @throws TeeException when the answer is not evidence of {@code kind}, or is for other REPORT_DATA
     */
    static byte[] read(EvidenceKind kind, EvidenceSource tee) {
        byte[] raw = tee.evidence(STARTUP_REPORT_DATA).report();
        Evidence answer;
        try {
            answer = Evidence.parse(kind, raw, List.of());
        } catch (IllegalArgumentException e) {
            throw new TeeException("expected " + kind.label() + " evidence from the guest's " + kind.label() + " TEE, found an answer"
                    + " that is not (" + e.getMessage() + "); it cannot be used to bind the policy", e);
        }
        if (!Arrays.equals(answer.reportData(), STARTUP_REPORT_DATA)) {
            throw new TeeException("the " + kind.label() + " TEE returned a report for other REPORT_DATA than the agent asked"
                    + " for; it cannot be used to bind the policy");
        }
        return answer.launchData();
    }

    /**
     * The startup check: SHA-256(policy) must equal the launch-bound data; for allow-all (no
     * policy, {@code policyBytes} null) it must be all zeros.
     *
     * @return the launch-bound data as the fresh answer gave it
     * @throws IllegalStateException naming both values when they differ
     */
    static byte[] require(EvidenceKind kind, EvidenceSource tee, byte[] policyBytes) {
        return requireBound(kind, read(kind, tee), policyBytes);
    }

    /**
     * The startup check on launch-bound data the TEE already gave ({@link GuestTee#launchBoundData()}):
     * SHA-256(policy) must equal {@code bound}; for allow-all it must be all zeros.
     *
     * @return {@code bound}
     * @throws IllegalStateException naming both values when they differ
     */
    static byte[] requireBound(EvidenceKind kind, byte[] bound, byte[] policyBytes) {
        if (policyBytes != null) {
            HostData.requireMatches(bound, policyBytes);
        } else if (!Arrays.equals(bound, new byte[bound.length])) {
            throw new IllegalStateException("expected " + name(kind) + " of zeros for --policy allow-all, found "
                    + HexFormat.of().formatHex(bound) + "; this launch is bound to a policy, so it must run that policy");
        }
        return bound;
    }
}
