package dev.coffer.runtime.spec;

import java.util.List;

/**
 * A container group as written in GROUP.yaml: containers that share one network namespace and
 * their volumes. Immutable and validated; build one with {@link GroupSpecParser}.
 */
public record GroupSpec(String name, List<ContainerSpec> containers, List<VolumeSpec> volumes, Skr skr) {
    public GroupSpec {
        containers = List.copyOf(containers);
        volumes = List.copyOf(volumes);
        skr = skr == null ? Skr.DEFAULT : skr;
    }

    /** A group with the default SKR API settings. */
    public GroupSpec(String name, List<ContainerSpec> containers, List<VolumeSpec> volumes) {
        this(name, containers, volumes, Skr.DEFAULT);
    }

    /**
     * The SKR API the agent serves to the group's containers on 127.0.0.1:{@code port} of the
     * group's network ({@code skr: {}} for 8080, {@code skr: {port: 9000}}, {@code skr: {enabled:
     * false}}). Opt-in: only a spec with an {@code skr} section, run with a TEE, gets one.
     *
     * @param declared true when the spec has an {@code skr} section (an explicit request)
     */
    public record Skr(boolean enabled, int port, boolean declared) {
        public static final int DEFAULT_PORT = 8080;
        public static final Skr DEFAULT = new Skr(true, DEFAULT_PORT, false);
    }

    /**
     * @param command replaces the image's Entrypoint when set (empty list = not set)
     * @param args replaces the image's Cmd when set
     */
    public record ContainerSpec(String name, String image, List<String> command, List<String> args, List<EnvVar> env,
                                String workingDir, List<Port> ports, List<VolumeMount> volumeMounts) {
        public ContainerSpec {
            command = List.copyOf(command);
            args = List.copyOf(args);
            env = List.copyOf(env);
            ports = List.copyOf(ports);
            volumeMounts = List.copyOf(volumeMounts);
        }
    }

    public record EnvVar(String name, String value) {}

    public record Port(int containerPort, String protocol) {}

    public record VolumeMount(String name, String mountPath, boolean readOnly) {}

    /** A volume; {@code emptyDir} is the only kind now (a directory that lives as long as the group). */
    public record VolumeSpec(String name, Kind kind) {
        public enum Kind { EMPTY_DIR }
    }
}
