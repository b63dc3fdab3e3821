package dev.coffer.policy.gen;

import java.util.List;

/**
 * An image as the policy needs it: its canonical reference, the dm-verity root hash of each
 * layer (base layer first) and the parts of its config that shape the container's launch.
 */
public record ResolvedImage(String reference, List<String> layerHashes, List<String> entrypoint, List<String> cmd,
                            List<String> env, String workingDir, String user) {
    public ResolvedImage {
        layerHashes = List.copyOf(layerHashes);
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        env = env == null ? List.of() : List.copyOf(env);
        workingDir = workingDir == null ? "" : workingDir;
        user = user == null ? "" : user;
        for (String h : layerHashes) {
            if (!h.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("layer hash of " + reference + " must be 64 lowercase hex digits: found '" + h + "'");
            }
        }
        if (layerHashes.isEmpty()) {
            throw new IllegalArgumentException("image " + reference + " has no layers; a container needs at least one");
        }
    }
}
