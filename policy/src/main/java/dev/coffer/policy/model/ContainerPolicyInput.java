package dev.coffer.policy.model;

import java.util.List;
import java.util.Objects;

/**
 * What the policy generator needs to know about one container of a group. It mirrors the
 * group spec's container entry (same field names) without depending on the runtime that
 * parses it: the runtime maps its spec onto this record.
 *
 * @param command    the spec's command (replaces the image entrypoint), or null to keep it
 * @param args       the spec's args (replace the image cmd), or null to keep it
 * @param workingDir the spec's working directory, or null for the image's (or "/")
 * @param user       the spec's user, or null for the image's
 * @param supplementalGroups the process's supplementary group ids (the spec's supplementalGroups; a pod's
 *                   supplementalGroups and fsGroup), pinned beside the user's primary group
 */
public record ContainerPolicyInput(String name, String image, List<String> command, List<String> args,
                                   List<EnvVarInput> env, String workingDir, String user,
                                   List<Integer> supplementalGroups, List<MountInput> volumeMounts, List<ExecProcessInput> execProcesses,
                                   List<Integer> signals, SecurityInput security) {
    public ContainerPolicyInput {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(image, "image");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("container name must not be empty; set containers[].name");
        }
        if (image.isEmpty()) {
            throw new IllegalArgumentException("container '" + name + "' has no image; set containers[].image");
        }
        command = command == null ? null : List.copyOf(command);
        args = args == null ? null : List.copyOf(args);
        env = env == null ? List.of() : List.copyOf(env);
        supplementalGroups = supplementalGroups == null ? List.of() : List.copyOf(supplementalGroups);
        for (Integer g : supplementalGroups) {
            if (g < 0) throw new IllegalArgumentException("container '" + name + "': expected group ids >= 0, found " + g);
        }
        volumeMounts = volumeMounts == null ? List.of() : List.copyOf(volumeMounts);
        execProcesses = execProcesses == null ? List.of() : List.copyOf(execProcesses);
        signals = signals == null ? List.of() : List.copyOf(signals);
        security = security == null ? SecurityInput.DEFAULT : security;
    }

    /** A container that runs the image as built: no overrides, no mounts, default security. */
    public static ContainerPolicyInput of(String name, String image) {
        return new ContainerPolicyInput(name, image, null, null, List.of(), null, null, List.of(), List.of(), List.of(),
                List.of(), SecurityInput.DEFAULT);
    }
}
