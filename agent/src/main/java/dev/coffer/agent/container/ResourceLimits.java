package dev.coffer.agent.container;

/**
 * The cgroup limits a container gets, from its policy container's {@code limits} (the host never
 * states them): bytes of memory and number of processes, 0 for none.
 */
public record ResourceLimits(long memoryBytes, long pids) {
    public static final ResourceLimits NONE = new ResourceLimits(0, 0);

    public ResourceLimits {
        if (memoryBytes < 0 || pids < 0) {
            throw new IllegalArgumentException("limits are 0 (none) or positive: found memory " + memoryBytes + ", pids " + pids);
        }
    }
}
