package dev.coffer.agent.tee;

import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.attest.evidence.EvidenceKind;

import java.util.List;

/**
 * The TEE the agent runs in, as the agent uses it: a fresh report or quote for given REPORT_DATA
 * ({@link #evidence}), the data the launch bound ({@link #launchBoundData()}: HOST_DATA for
 * SEV-SNP, MRCONFIGID for TDX), and the startup check that the policy is the one bound there
 * ({@link #requirePolicyBound}). The evidence is read through the evidence model of
 * {@code dev.coffer.attest.evidence}, by this TEE's {@link #kind()}, so the agent never parses a
 * TEE's format itself and a new TEE is one more implementation (TDX: a quote from configfs-tsm,
 * MRCONFIGID) listed in {@link #KINDS}, not a change to the agent.
 */
public sealed interface GuestTee extends EvidenceSource permits SimEvidenceSource, SnpEvidenceSource {
    /** The TEEs an agent can be launched with ({@code --tee} besides {@code none}), in the order help text lists them. */
    List<EvidenceKind> KINDS = List.of(EvidenceKind.SIMULATED, EvidenceKind.SEV_SNP);

    /** Which member of the evidence model this TEE's answers are. */
    EvidenceKind kind();

    /** {@code sim} or {@code snp}, the kind's label: shown by {@code GET /status}. */
    @Override
    default String tee() {
        return kind().label();
    }

    /** What the launch-bound data is called in this TEE's reports: HOST_DATA, MRCONFIGID. */
    default String launchBoundDataName() {
        return LaunchBinding.name(kind());
    }

    /**
     * The launch-bound data as the TEE reports it for this launch, read from a fresh report (the
     * simulated TEE, whose chip is the agent's own code, answers from its checked launch instead):
     * the value the agent's policy must hash to. Nothing the host says on the command line is taken for it.
     *
     * @throws TeeException when the TEE's answer is not evidence of its kind, or is for other REPORT_DATA
     */
    default byte[] launchBoundData() {
        return LaunchBinding.read(kind(), this);
    }

    /**
     * The startup check: SHA-256(policy) must equal the launch-bound data. For allow-all (no
     * policy file) it must be all zeros, which is what the runtime binds such a launch to, so a
     * launch bound to a real policy can never be run without one.
     *
     * @param policyBytes the policy text, or null for allow-all
     * @return the launch-bound data as {@link #launchBoundData()} gave it
     * @throws IllegalStateException naming both values when they differ
     */
    default byte[] requirePolicyBound(byte[] policyBytes) {
        return LaunchBinding.requireBound(kind(), launchBoundData(), policyBytes);
    }
}
