package dev.coffer.policy.gen;

import java.util.List;

/**
 * A policy in ACI's data schema, before it is written as Rego text. Field names follow the
 * Rego document ({@link RegoPolicyWriter} writes them in this order), so a reader of the
 * generated file and of this record sees the same structure.
 */
public record PolicyDocument(String apiVersion, String frameworkVersion, boolean debugMode,
                             List<Container> containers, List<ExternalProcess> externalProcesses,
                             Flags flags, List<EncryptedVolume> encryptedVolumes,
                             dev.coffer.policy.model.LaunchSettings launch,
                             List<dev.coffer.policy.spec.GroupSpec.EndpointPin> keyChannelPins) {
    /** A policy that pins no key-channel endpoint. */
    public PolicyDocument(String apiVersion, String frameworkVersion, boolean debugMode, List<Container> containers,
                          List<ExternalProcess> externalProcesses, Flags flags, List<EncryptedVolume> encryptedVolumes,
                          dev.coffer.policy.model.LaunchSettings launch) {
        this(apiVersion, frameworkVersion, debugMode, containers, externalProcesses, flags, encryptedVolumes, launch, List.of());
    }

    /** A policy that pins no launch settings (no forwarded port, no SKR API) and no key-channel endpoint. */
    public PolicyDocument(String apiVersion, String frameworkVersion, boolean debugMode, List<Container> containers,
                          List<ExternalProcess> externalProcesses, Flags flags, List<EncryptedVolume> encryptedVolumes) {
        this(apiVersion, frameworkVersion, debugMode, containers, externalProcesses, flags, encryptedVolumes, null, List.of());
    }

    /** A policy without encrypted volumes. */
    public PolicyDocument(String apiVersion, String frameworkVersion, boolean debugMode, List<Container> containers,
                          List<ExternalProcess> externalProcesses, Flags flags) {
        this(apiVersion, frameworkVersion, debugMode, containers, externalProcesses, flags, List.of());
    }

    public PolicyDocument {
        launch = launch == null ? dev.coffer.policy.model.LaunchSettings.NONE : launch;
        encryptedVolumes = encryptedVolumes == null ? List.of() : List.copyOf(encryptedVolumes);
        keyChannelPins = keyChannelPins == null ? List.of() : List.copyOf(keyChannelPins);
        containers = List.copyOf(containers);
        externalProcesses = List.copyOf(externalProcesses);
    }

    /** The top-level {@code allow_*} flags. */
    public record Flags(boolean allowPropertiesAccess, boolean allowDumpStacks, boolean allowRuntimeLogging,
                        boolean allowEnvironmentVariableDropping, boolean allowUnencryptedScratch,
                        boolean allowCapabilityDropping, boolean allowStdin) {
        /** Without stdin (the default). */
        public Flags(boolean allowPropertiesAccess, boolean allowDumpStacks, boolean allowRuntimeLogging,
                     boolean allowEnvironmentVariableDropping, boolean allowUnencryptedScratch, boolean allowCapabilityDropping) {
            this(allowPropertiesAccess, allowDumpStacks, allowRuntimeLogging, allowEnvironmentVariableDropping,
                    allowUnencryptedScratch, allowCapabilityDropping, false);
        }
    }

    public record Container(String id, String name, List<String> layers, List<String> command,
                            List<EnvRule> envRules, String workingDir, List<Mount> mounts,
                            List<ExecProcess> execProcesses, List<Integer> signals, User user,
                            Capabilities capabilities, String seccompProfileSha256, boolean allowElevated,
                            boolean allowStdioAccess, boolean noNewPrivileges, Limits limits) {
        /** Without resource limits. */
        public Container(String id, String name, List<String> layers, List<String> command, List<EnvRule> envRules,
                         String workingDir, List<Mount> mounts, List<ExecProcess> execProcesses, List<Integer> signals,
                         User user, Capabilities capabilities, String seccompProfileSha256, boolean allowElevated,
                         boolean allowStdioAccess, boolean noNewPrivileges) {
            this(id, name, layers, command, envRules, workingDir, mounts, execProcesses, signals, user, capabilities,
                    seccompProfileSha256, allowElevated, allowStdioAccess, noNewPrivileges, null);
        }

        public Container {
            layers = List.copyOf(layers);
            command = List.copyOf(command);
            envRules = List.copyOf(envRules);
            mounts = List.copyOf(mounts);
            execProcesses = List.copyOf(execProcesses);
            signals = List.copyOf(signals);
        }
    }

    /** {@code limits} of a container (Coffer's addition to ACI's schema, written only when set): 0 is none. */
    public record Limits(long memoryBytes, long pids) {}

    /** {@code strategy} is "string" (exact "NAME=value") or "re2" (anchored RE2 pattern). */
    public record EnvRule(String pattern, String strategy, boolean required) {}

    /**
     * {@code files}: null for any content (a volume of the sandbox's own, or host content the
     * generator did not know); otherwise exactly the files the volume must hold (see
     * {@link dev.coffer.policy.enforce.FileDigest}), sorted by path.
     */
    public record Mount(String destination, String source, String type, List<String> options,
                        List<dev.coffer.policy.enforce.FileDigest> files) {
        public Mount {
            options = List.copyOf(options);
            files = files == null ? null : dev.coffer.policy.enforce.FileDigest.sorted(files);
        }

        public Mount(String destination, String source, String type, List<String> options) {
            this(destination, source, type, options, null);
        }
    }

    public record ExecProcess(List<String> command, List<Integer> signals) {
        public ExecProcess {
            command = List.copyOf(command);
            signals = List.copyOf(signals);
        }
    }

    /** {@code strategy}: "any", "id", "name" or "re2", as in ACI's {@code user_idname}. */
    public record IdName(String pattern, String strategy) {}

    public record User(IdName userIdName, List<IdName> groupIdNames, String umask) {
        public User {
            groupIdNames = List.copyOf(groupIdNames);
        }
    }

    public record Capabilities(List<String> bounding, List<String> effective, List<String> inheritable,
                               List<String> permitted, List<String> ambient) {
        public Capabilities {
            bounding = List.copyOf(bounding);
            effective = List.copyOf(effective);
            inheritable = List.copyOf(inheritable);
            permitted = List.copyOf(permitted);
            ambient = List.copyOf(ambient);
        }
    }

    public record ExternalProcess(List<String> command, List<EnvRule> envRules, String workingDir,
                                  boolean allowStdioAccess) {
        public ExternalProcess {
            command = List.copyOf(command);
            envRules = List.copyOf(envRules);
        }
    }

    /**
     * {@code encrypted_volumes[]}: a volume the host may ask the agent to open with
     * {@code mount_encrypted_volume}: endpoints, header digest and integrity mode always pinned.
     */
    public record EncryptedVolume(String name, String source, String key, String authority, String vault, boolean readOnly,
                                  String headerDigest, String integrity) {}
}
