package dev.coffer.shim.task;

import dev.coffer.runtime.group.RunOptions;

import java.nio.file.Path;
import java.util.Map;

/**
 * The shim's settings, from its environment (containerd starts shims with its own environment):
 * {@code COFFER_HOME} (the Coffer home whose images and groups the shim uses, default /var/lib/coffer),
 * {@code COFFER_SHIM_POLICY} (the policy of a pod without the policy annotation: {@code generate},
 * {@code allow-all} or a policy file; default generate), {@code COFFER_SHIM_TEE} (default sim),
 * {@code COFFER_SHIM_ISOLATION} (default process), {@code COFFER_SHIM_PAUSE_IMAGE} (the image a
 * pod's sandbox task runs in the pod's group, as imported into the Coffer home: CRI names none for
 * it; the same image as containerd's {@code sandbox_image}; default {@value #DEFAULT_PAUSE_IMAGE})
 * and {@code COFFER_SHIM_ALLOW_UNENCRYPTED_SCRATCH} ({@code true} or {@code false}, default false:
 * whether a generated policy lets the task's writable layer be plain files on the host where the
 * sandbox cannot encrypt it, as the process sandbox cannot on a host without device-mapper; without
 * it such a task is refused; a pod's policy annotation says this itself).
 */
public record ShimConfig(Path cofferHome, String policy, String tee, String isolation, String pauseImage,
                         boolean allowUnencryptedScratch) {
    public static final String DEFAULT_PAUSE_IMAGE = "coffer.dev/pause:1";
    static final String ALLOW_UNENCRYPTED_SCRATCH = "COFFER_SHIM_ALLOW_UNENCRYPTED_SCRATCH";

    public static ShimConfig fromEnvironment(Map<String, String> env) {
        String allow = env.getOrDefault(ALLOW_UNENCRYPTED_SCRATCH, "false");
        if (!allow.equals("true") && !allow.equals("false")) {
            throw new IllegalArgumentException("expected " + ALLOW_UNENCRYPTED_SCRATCH + " true or false, found \"" + allow + "\"");
        }
        return new ShimConfig(Path.of(env.getOrDefault("COFFER_HOME", "/var/lib/coffer")),
                env.getOrDefault("COFFER_SHIM_POLICY", RunOptions.GENERATE),
                env.getOrDefault("COFFER_SHIM_TEE", RunOptions.TEE_SIM),
                env.getOrDefault("COFFER_SHIM_ISOLATION", "process"),
                env.getOrDefault("COFFER_SHIM_PAUSE_IMAGE", DEFAULT_PAUSE_IMAGE),
                Boolean.parseBoolean(allow));
    }
}
