package dev.coffer.policy.model;

import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.policy.spec.SpecException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A container group as the policy generator sees it: its containers and the names of its
 * volumes. Made from the group spec with {@link #of}, the same spec the runtime runs.
 */
public record GroupPolicyInput(String name, List<ContainerPolicyInput> containers, List<String> volumes,
                               List<EncryptedVolumeInput> encryptedVolumes, LaunchSettings launch,
                               List<GroupSpec.EndpointPin> keyChannelPins, boolean allowUnencryptedScratch,
                               boolean allowStdin) {
    /** A group whose processes get no stdin from the host (the default; see {@link GroupSpec.Stdin}). */
    public GroupPolicyInput(String name, List<ContainerPolicyInput> containers, List<String> volumes,
                            List<EncryptedVolumeInput> encryptedVolumes, LaunchSettings launch,
                            List<GroupSpec.EndpointPin> keyChannelPins, boolean allowUnencryptedScratch) {
        this(name, containers, volumes, encryptedVolumes, launch, keyChannelPins, allowUnencryptedScratch, false);
    }

    /** This group, with stdin allowed ({@code policy gen --allow-stdin}). */
    public GroupPolicyInput allowingStdin() {
        return new GroupPolicyInput(name, containers, volumes, encryptedVolumes, launch, keyChannelPins,
                allowUnencryptedScratch, true);
    }

    /** A group whose scratch must be encrypted (the default; see {@link GroupSpec.Scratch}). */
    public GroupPolicyInput(String name, List<ContainerPolicyInput> containers, List<String> volumes,
                            List<EncryptedVolumeInput> encryptedVolumes, LaunchSettings launch,
                            List<GroupSpec.EndpointPin> keyChannelPins) {
        this(name, containers, volumes, encryptedVolumes, launch, keyChannelPins, false);
    }

    /** This group, with unencrypted scratch allowed ({@code policy gen --allow-unencrypted-scratch}). */
    public GroupPolicyInput allowingUnencryptedScratch() {
        return new GroupPolicyInput(name, containers, volumes, encryptedVolumes, launch, keyChannelPins, true, allowStdin);
    }

    /** A group that pins no key-channel endpoint. */
    public GroupPolicyInput(String name, List<ContainerPolicyInput> containers, List<String> volumes,
                            List<EncryptedVolumeInput> encryptedVolumes, LaunchSettings launch) {
        this(name, containers, volumes, encryptedVolumes, launch, List.of());
    }

    /** A group without encrypted volumes. */
    public GroupPolicyInput(String name, List<ContainerPolicyInput> containers, List<String> volumes) {
        this(name, containers, volumes, List.of());
    }

    /** A group that declares no ports and no SKR API. */
    public GroupPolicyInput(String name, List<ContainerPolicyInput> containers, List<String> volumes,
                            List<EncryptedVolumeInput> encryptedVolumes) {
        this(name, containers, volumes, encryptedVolumes, LaunchSettings.NONE);
    }

    public GroupPolicyInput {
        launch = launch == null ? LaunchSettings.NONE : launch;
        encryptedVolumes = encryptedVolumes == null ? List.of() : List.copyOf(encryptedVolumes);
        keyChannelPins = keyChannelPins == null ? List.of() : List.copyOf(keyChannelPins);
        Objects.requireNonNull(name, "name");
        containers = List.copyOf(containers);
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        if (containers.isEmpty()) {
            throw new IllegalArgumentException("group '" + name + "' has no containers; add at least one entry under containers:");
        }
        Set<String> seen = new HashSet<>();
        for (EncryptedVolumeInput v : encryptedVolumes) {
            if (!volumes.contains(v.name())) {
                throw new IllegalArgumentException("encrypted volume '" + v.name() + "' is not among the group's volumes "
                        + volumes + "; list it under volumes:");
            }
        }
        for (ContainerPolicyInput c : containers) {
            if (!seen.add(c.name())) {
                throw new IllegalArgumentException("group '" + name + "' has two containers named '" + c.name()
                        + "'; container names must be unique");
            }
            for (MountInput m : c.volumeMounts()) {
                if (!volumes.contains(m.volume())) {
                    throw new IllegalArgumentException("container '" + c.name() + "' mounts volume '" + m.volume()
                            + "' but the group declares volumes " + volumes + "; add it under volumes:");
                }
            }
        }
    }

    /** The generator's view of {@code spec}: what the spec overrides, and nothing the runtime adds on its own. */
    public static GroupPolicyInput of(GroupSpec spec) {
        List<ContainerPolicyInput> containers = new ArrayList<>();
        for (GroupSpec.ContainerSpec c : spec.containers()) {
            List<EnvVarInput> env = c.env().stream().map(e -> new EnvVarInput(e.name(), e.value(), e.variable())).toList();
            List<MountInput> mounts = c.volumeMounts().stream()
                    .map(m -> new MountInput(m.name(), m.mountPath(), m.readOnly())).toList();
            List<ExecProcessInput> execs = c.execProcesses().stream()
                    .map(x -> new ExecProcessInput(x.command(), x.signals())).toList();
            GroupSpec.Security sec = c.security();
            containers.add(new ContainerPolicyInput(c.name(), c.image(),
                    c.command().isEmpty() ? null : c.command(),
                    c.args().isEmpty() ? null : c.args(),
                    env, c.workingDir(), c.user(), c.supplementalGroups(), mounts, execs, c.signals(),
                    new SecurityInput(sec.privileged(), sec.allowStdioAccess(), sec.noNewPrivileges(), sec.seccompProfileSha256(),
                            new LimitsInput(sec.limits().memoryBytes(), sec.limits().pids()))));
        }
        List<EncryptedVolumeInput> encrypted = spec.volumes().stream().filter(v -> v.encrypted() != null)
                .map(v -> new EncryptedVolumeInput(v.name(), v.encrypted().source(), v.encrypted().key(),
                        v.encrypted().authority(), v.encrypted().vault(), v.encrypted().readOnly(),
                        v.encrypted().headerDigest(), v.encrypted().integrity()))
                .toList();
        return new GroupPolicyInput(spec.name(), containers, spec.volumes().stream().map(GroupSpec.VolumeSpec::name).toList(),
                encrypted, launchSettings(spec), spec.skr().pins(), spec.scratch().allowUnencrypted(),
                spec.stdin().allow());
    }

    /**
     * What the spec asks the agent to set up at launch, for the policy to pin: the containers'
     * declared TCP ports (each once) and, with an {@code skr} section, the SKR API's port and endpoints.
     */
    public static LaunchSettings launchSettings(GroupSpec spec) {
        List<Integer> ports = spec.containers().stream().flatMap(c -> c.ports().stream())
                .filter(p -> p.protocol().equals("TCP")).map(GroupSpec.Port::containerPort).distinct().toList();
        boolean skr = spec.skr().declared() && spec.skr().enabled();
        return new LaunchSettings(ports, skr ? spec.skr().port() : null, skr ? spec.skr().endpoints() : List.of());
    }

    /** Parses spec text (see {@link GroupSpecParser}); {@code source} names it in error messages. */
    public static GroupPolicyInput parse(String yaml, String source) throws SpecException {
        return of(GroupSpecParser.parse(yaml, source));
    }
}
