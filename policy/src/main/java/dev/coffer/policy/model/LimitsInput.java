package dev.coffer.policy.model;

/**
 * A container's resource limits, pinned by the policy and applied by the agent (the host never
 * states them): {@code memoryBytes} for the memory cgroup, {@code pids} for the pids cgroup; 0
 * means no limit.
 */
public record LimitsInput(long memoryBytes, long pids) {
    public static final LimitsInput NONE = new LimitsInput(0, 0);

    public LimitsInput {
        if (memoryBytes < 0 || pids < 0) {
            throw new IllegalArgumentException("limits must be 0 (none) or positive: found memory " + memoryBytes
                    + " bytes, pids " + pids);
        }
    }

    public boolean none() {
        return memoryBytes == 0 && pids == 0;
    }
}
