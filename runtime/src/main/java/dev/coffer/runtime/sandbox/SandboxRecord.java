package dev.coffer.runtime.sandbox;

/**
 * What the group state keeps about a running sandbox so a later CLI invocation can find it
 * again: which backend, the agent's pid and start time (to tell it from a reused pid), its
 * socket and state directory; and what the TEE fixed at launch, so a later attestation can be
 * compared with it.
 *
 * @param tee "none", "sim" or "snp"
 * @param measurement the launch MEASUREMENT (96 hex digits), "" without a TEE
 * @param hostData the launch HOST_DATA (64 hex digits, SHA-256 of the policy), "" without a TEE
 */
public record SandboxRecord(String backend, long agentPid, String agentStartedAt, String socket, String agentStateDir,
                            String tee, String measurement, String hostData) {
    public SandboxRecord {
        tee = tee == null ? "none" : tee;
        measurement = measurement == null ? "" : measurement;
        hostData = hostData == null ? "" : hostData;
    }

    /** A sandbox launched without a TEE. */
    public SandboxRecord(String backend, long agentPid, String agentStartedAt, String socket, String agentStateDir) {
        this(backend, agentPid, agentStartedAt, socket, agentStateDir, "none", "", "");
    }
}
