package dev.coffer.policy.enforce;

import java.util.function.Consumer;

/**
 * What the agent (trusted) tells the enforcer about itself; the host never supplies these.
 *
 * @param layerMountPathRegex where layer disks may be mounted (anchored RE2): stops a host from
 *                            mounting a verified layer over, say, the agent's own binaries
 * @param sandboxDir          the directory that {@code sandbox://} mount sources in the policy refer to
 * @param logCapacity         decision log entries kept in memory (oldest dropped first)
 * @param logSink             receives every log entry as it is written or updated (e.g. to append it to a
 *                            JSON-lines file for {@code coffer logs --policy}); called under the enforcer's
 *                            lock, so keep it fast; may be null
 */
public record EnforcerOptions(String layerMountPathRegex, String sandboxDir, int logCapacity,
                              Consumer<DecisionLogEntry> logSink) {
    public static final String DEFAULT_LAYER_MOUNT_PATH_REGEX = "/run/coffer/layers/[0-9a-zA-Z_.-]+";
    public static final String DEFAULT_SANDBOX_DIR = "/run/coffer/sandbox";

    public EnforcerOptions {
        if (logCapacity < 1) {
            throw new IllegalArgumentException("logCapacity must be at least 1: found " + logCapacity);
        }
        com.google.re2j.Pattern.compile(layerMountPathRegex);
        if (sandboxDir.endsWith("/")) {
            sandboxDir = sandboxDir.substring(0, sandboxDir.length() - 1);
        }
    }

    public static EnforcerOptions defaults() {
        return new EnforcerOptions(DEFAULT_LAYER_MOUNT_PATH_REGEX, DEFAULT_SANDBOX_DIR, 10_000, null);
    }

    public EnforcerOptions withLayerMountPathRegex(String regex) {
        return new EnforcerOptions(regex, sandboxDir, logCapacity, logSink);
    }

    public EnforcerOptions withSandboxDir(String dir) {
        return new EnforcerOptions(layerMountPathRegex, dir, logCapacity, logSink);
    }

    public EnforcerOptions withLogSink(Consumer<DecisionLogEntry> sink) {
        return new EnforcerOptions(layerMountPathRegex, sandboxDir, logCapacity, sink);
    }
}
