package dev.coffer.policy.spec;

import java.util.List;

/**
 * A container group as written in GROUP.yaml: containers that share one network namespace and
 * their volumes. The one model of the spec: the policy generator and the runtime both read it,
 * so the policy pins exactly what the runtime will ask for. Immutable and validated; build one
 * with {@link GroupSpecParser}.
 */
public record GroupSpec(String name, List<ContainerSpec> containers, List<VolumeSpec> volumes, Skr skr, Scratch scratch,
                        Stdin stdin) {
    /** What the runtime puts in a container's env when neither the image nor the spec sets PATH. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public GroupSpec {
        containers = List.copyOf(containers);
        volumes = List.copyOf(volumes);
        skr = skr == null ? Skr.DEFAULT : skr;
        scratch = scratch == null ? Scratch.ENCRYPTED_ONLY : scratch;
        stdin = stdin == null ? Stdin.REFUSED : stdin;
    }

    /** A group whose processes get no stdin from the host (no {@code stdin} section). */
    public GroupSpec(String name, List<ContainerSpec> containers, List<VolumeSpec> volumes, Skr skr, Scratch scratch) {
        this(name, containers, volumes, skr, scratch, Stdin.REFUSED);
    }

    /**
     * Whether the host may write into the stdin of the group's exec processes ({@code stdin:
     * {allow: true}}: {@code kubectl exec -i}, {@code coffer exec} with input). Off by default: what
     * the host writes there is host input to a confidential process (Kata's genpolicy refuses
     * WriteStreamRequest by default for the same reason). It becomes the policy's {@code allow_stdin},
     * so HOST_DATA binds the choice.
     */
    public record Stdin(boolean allow) {
        public static final Stdin REFUSED = new Stdin(false);
    }

    /** A group whose scratch must be encrypted (no {@code scratch} section). */
    public GroupSpec(String name, List<ContainerSpec> containers, List<VolumeSpec> volumes, Skr skr) {
        this(name, containers, volumes, skr, Scratch.ENCRYPTED_ONLY);
    }

    /**
     * Where the group's writable layers and emptyDir volumes may live ({@code scratch:
     * {allowUnencrypted: true}}). By default only on encrypted, integrity-protected scratch with a
     * key the sandbox makes; allowing unencrypted scratch lets a sandbox that cannot encrypt (the
     * process sandbox on a host without device-mapper) keep them as plain files on the host. It
     * becomes the policy's {@code allow_unencrypted_scratch}, so HOST_DATA binds the choice.
     */
    public record Scratch(boolean allowUnencrypted) {
        public static final Scratch ENCRYPTED_ONLY = new Scratch(false);
    }

    /** A group without an {@code skr} section. */
    public GroupSpec(String name, List<ContainerSpec> containers, List<VolumeSpec> volumes) {
        this(name, containers, volumes, Skr.DEFAULT, Scratch.ENCRYPTED_ONLY);
    }

    /**
     * The SKR API the agent serves to the group's containers on 127.0.0.1:{@code port} of the
     * group's network ({@code skr: {}} for 8080, {@code skr: {port: 9000}}, {@code skr: {enabled:
     * false}}). Opt-in: only a spec with an {@code skr} section, run with a TEE, gets one. It is a
     * launch parameter (measured), not something the policy pins.
     *
     * <p>{@code endpoints} lists the attestation services and key vaults the API may call on the
     * containers' behalf ({@code skr: {endpoints: [https://vault.example:8400]}}). The agent refuses
     * any other, so a container cannot make the agent fetch arbitrary URLs; and a microVM's
     * restricted network reaches exactly these. Empty means any endpoint in the process sandbox
     * and none from a microVM.
     *
     * <p>{@code pins} names, per attestation service or key vault (SKR endpoints and encrypted
     * volumes' authority and vault alike), the TLS certificate it presents and the keys it signs
     * releases and tokens with ({@code coffer server pins} prints them). They are written into
     * the policy, so HOST_DATA binds them; the agent verifies releases against them.
     *
     * @param declared  true when the spec has an {@code skr} section (an explicit request)
     * @param endpoints base URLs {@code scheme://host:port}, port always explicit, no path
     * @param pins      what the key channel pins per endpoint
     */
    public record Skr(boolean enabled, int port, boolean declared, List<String> endpoints, List<EndpointPin> pins) {
        public static final int DEFAULT_PORT = 8080;
        public static final Skr DEFAULT = new Skr(true, DEFAULT_PORT, false, List.of());

        public Skr {
            endpoints = List.copyOf(endpoints);
            pins = pins == null ? List.of() : List.copyOf(pins);
        }

        /** Without pins. */
        public Skr(boolean enabled, int port, boolean declared, List<String> endpoints) {
            this(enabled, port, declared, endpoints, List.of());
        }

        public Skr(boolean enabled, int port, boolean declared) {
            this(enabled, port, declared, List.of());
        }
    }

    /**
     * What the key channel pins for one attestation service or key vault.
     *
     * @param endpoint       base URL {@code scheme://host:port}, port explicit
     * @param tlsCertificate SHA-256 of its TLS certificate, lowercase hex; empty when the JDK's trust store decides
     * @param signingKeys    RFC 7638 thumbprints of the keys it signs releases (and tokens) with
     */
    public record EndpointPin(String endpoint, String tlsCertificate, List<String> signingKeys) {
        public EndpointPin {
            tlsCertificate = tlsCertificate == null ? "" : tlsCertificate;
            signingKeys = List.copyOf(signingKeys);
        }
    }

    /**
     * @param command       replaces the image's Entrypoint when set (empty list = not set)
     * @param args          replaces the image's Cmd when set
     * @param workingDir    replaces the image's WorkingDir when set (null = not set)
     * @param user          replaces the image's User when set (null = not set)
     * @param supplementalGroups the process's supplementary group ids beyond its primary group (Kubernetes'
     *                      supplementalGroups and fsGroup; what CRI puts in the OCI spec's additionalGids), none by default
     * @param execProcesses the commands the host may later exec in the container (none by default)
     * @param signals       the signals the host may send the container's main process
     */
    public record ContainerSpec(String name, String image, List<String> command, List<String> args, List<EnvVar> env,
                                String workingDir, String user, List<Integer> supplementalGroups, List<Port> ports,
                                List<VolumeMount> volumeMounts, List<ExecProcess> execProcesses, List<Integer> signals,
                                Security security) {
        public ContainerSpec {
            supplementalGroups = supplementalGroups == null ? List.of() : List.copyOf(supplementalGroups);
            command = List.copyOf(command);
            args = List.copyOf(args);
            env = List.copyOf(env);
            ports = List.copyOf(ports);
            volumeMounts = List.copyOf(volumeMounts);
            execProcesses = List.copyOf(execProcesses);
            signals = List.copyOf(signals);
            security = security == null ? Security.DEFAULT : security;
        }
    }

    /** @param variable the value is an RE2 pattern the real value must match (a per-deployment value) */
    public record EnvVar(String name, String value, boolean variable) {
        public EnvVar(String name, String value) {
            this(name, value, false);
        }
    }

    public record Port(int containerPort, String protocol) {}

    public record VolumeMount(String name, String mountPath, boolean readOnly) {}

    /** A command the host may exec inside the running container, and the signals it may send to it. */
    public record ExecProcess(List<String> command, List<Integer> signals) {
        public ExecProcess {
            command = List.copyOf(command);
            signals = List.copyOf(signals);
        }
    }

    /**
     * The container's security context. {@code seccompProfileSha256} is SHA-256 of the seccomp
     * profile JSON, or empty for none.
     */
    public record Security(boolean privileged, boolean allowStdioAccess, boolean noNewPrivileges,
                           String seccompProfileSha256, Limits limits) {
        public static final Security DEFAULT = new Security(false, true, false, "");

        /** Without resource limits. */
        public Security(boolean privileged, boolean allowStdioAccess, boolean noNewPrivileges, String seccompProfileSha256) {
            this(privileged, allowStdioAccess, noNewPrivileges, seccompProfileSha256, Limits.NONE);
        }

        public Security {
            limits = limits == null ? Limits.NONE : limits;
        }

        public Security withLimits(Limits l) {
            return new Security(privileged, allowStdioAccess, noNewPrivileges, seccompProfileSha256, l);
        }
    }

    /**
     * A container's {@code resources.limits}: {@code memory} in bytes and {@code pids} (Coffer's
     * addition), 0 for none. The policy pins them and the agent applies them.
     */
    public record Limits(long memoryBytes, long pids) {
        public static final Limits NONE = new Limits(0, 0);
    }

    /**
     * A volume: {@code emptyDir} (a directory that lives as long as the group) or {@code encrypted}
     * (a LUKS2 image opened inside the sandbox with a key the vault releases only to the attested
     * group). {@code encrypted} is null for an emptyDir.
     */
    public record VolumeSpec(String name, Kind kind, Encrypted encrypted) {
        public enum Kind { EMPTY_DIR, ENCRYPTED }

        public VolumeSpec {
            if ((kind == Kind.ENCRYPTED) != (encrypted != null)) {
                throw new IllegalArgumentException("volume '" + name + "': an encrypted volume needs its encrypted settings, "
                        + "an emptyDir none");
            }
        }

        /** An emptyDir. */
        public VolumeSpec(String name, Kind kind) {
            this(name, kind, null);
        }
    }

    /**
     * An encrypted volume, named like the fields of Azure's encrypted-filesystem sidecar
     * ({@code azure_url}, {@code key.kid}, {@code key.authority.endpoint}, {@code key.akv.endpoint},
     * {@code read_write}).
     *
     * @param source    the LUKS2 image: a file path (relative to the spec's directory) or an http(s) URL
     * @param key       the vault key name (kid) the volume was created with
     * @param authority the attestation service (MAA) endpoint; required, the policy pins it
     * @param vault     the key vault (AKV) endpoint; required, the policy pins it
     * @param readOnly  the image is opened read-only (always true for URLs)
     * @param headerDigest SHA-256 (64 lowercase hex digits) of the volume's LUKS2 header, as
     *                  {@code coffer volume create} prints it; the agent refuses any other header
     * @param integrity how sectors are authenticated, one of {@link #INTEGRITY_MODES}
     *                  ({@code hmac-sha256}, the default; {@code none} only for plain XTS volumes)
     */
    public record Encrypted(String source, String key, String authority, String vault, boolean readOnly,
                            String headerDigest, String integrity) {
        /** The volume formats Coffer opens: authenticated (the default) or, explicitly, plain XTS. */
        public static final java.util.List<String> INTEGRITY_MODES = java.util.List.of("hmac-sha256", "none");
        public static final String DEFAULT_INTEGRITY = "hmac-sha256";

        public boolean remote() {
            return source.startsWith("http://") || source.startsWith("https://");
        }
    }
}
