package dev.coffer.shim.task;

import dev.coffer.runtime.group.RunOptions;

import java.nio.file.Path;
import java.util.Map;

/**
 * The shim's settings, from its environment (containerd starts shims with its own environment):
 * {@code COFFER_HOME} (the Coffer home whose images and groups the shim uses, default /var/lib/coffer),
 * {@code COFFER_SHIM_POLICY} (the policy of a pod without the policy annotation: {@code generate},
 * {@code allow-all} or a policy file; default generate), {@code COFFER_SHIM_TEE} (default sim) and
 * {@code COFFER_SHIM_ISOLATION} (default process).
 */
public record ShimConfig(Path cofferHome, String policy, String tee, String isolation) {
    public static ShimConfig fromEnvironment(Map<String, String> env) {
        return new ShimConfig(Path.of(env.getOrDefault("COFFER_HOME", "/var/lib/coffer")),
                env.getOrDefault("COFFER_SHIM_POLICY", RunOptions.GENERATE),
                env.getOrDefault("COFFER_SHIM_TEE", RunOptions.TEE_SIM),
                env.getOrDefault("COFFER_SHIM_ISOLATION", "process"));
    }
}
