package dev.coffer.oci.store;

import java.util.List;
import java.util.Map;

/**
 * The part of an OCI image configuration that decides how a container runs.
 *
 * @param env          "KEY=VALUE" entries in image order
 * @param exposedPorts "80/tcp" style entries
 */
public record ImageConfig(List<String> entrypoint, List<String> cmd, List<String> env, String workingDir,
                          String user, List<String> exposedPorts, Map<String, String> labels,
                          String os, String architecture) {
    public ImageConfig {
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        env = env == null ? List.of() : List.copyOf(env);
        workingDir = workingDir == null ? "" : workingDir;
        user = user == null ? "" : user;
        exposedPorts = exposedPorts == null ? List.of() : List.copyOf(exposedPorts);
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        os = os == null || os.isEmpty() ? "linux" : os;
        architecture = architecture == null || architecture.isEmpty() ? "amd64" : architecture;
    }

    /** A linux/amd64 config that runs {@code cmd}, with a PATH like most images set. */
    public static ImageConfig of(List<String> cmd) {
        return new ImageConfig(List.of(), cmd,
                List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                "/", "", List.of(), Map.of(), "linux", "amd64");
    }

    public ImageConfig withEntrypoint(List<String> newEntrypoint) {
        return new ImageConfig(newEntrypoint, cmd, env, workingDir, user, exposedPorts, labels, os, architecture);
    }

    public ImageConfig withCmd(List<String> newCmd) {
        return new ImageConfig(entrypoint, newCmd, env, workingDir, user, exposedPorts, labels, os, architecture);
    }

    public ImageConfig withEnv(List<String> newEnv) {
        return new ImageConfig(entrypoint, cmd, newEnv, workingDir, user, exposedPorts, labels, os, architecture);
    }

    public ImageConfig withWorkingDir(String dir) {
        return new ImageConfig(entrypoint, cmd, env, dir, user, exposedPorts, labels, os, architecture);
    }

    public ImageConfig withUser(String newUser) {
        return new ImageConfig(entrypoint, cmd, env, workingDir, newUser, exposedPorts, labels, os, architecture);
    }

    public ImageConfig withExposedPorts(List<String> ports) {
        return new ImageConfig(entrypoint, cmd, env, workingDir, user, ports, labels, os, architecture);
    }

    public ImageConfig withLabels(Map<String, String> newLabels) {
        return new ImageConfig(entrypoint, cmd, env, workingDir, user, exposedPorts, newLabels, os, architecture);
    }

    public ImageConfig withPlatform(String newOs, String newArchitecture) {
        return new ImageConfig(entrypoint, cmd, env, workingDir, user, exposedPorts, labels, newOs, newArchitecture);
    }
}
