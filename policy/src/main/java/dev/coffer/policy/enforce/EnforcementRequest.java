package dev.coffer.policy.enforce;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * A request from the (untrusted) host that the agent must check against the policy before
 * acting on it: one record per enforcement point, with Azure's input field names so that the
 * JSON the framework sees is the JSON an ACI policy expects.
 */
public sealed interface EnforcementRequest {
    /** The enforcement point this request is the input of (declared once, in {@link EnforcementPoint}). */
    default EnforcementPoint point() {
        return EnforcementPoint.of(this);
    }

    /** The enforcement point's name, e.g. "mount_device": the rule evaluated is data.policy.&lt;rule&gt;. */
    default String rule() {
        return point().pointName();
    }

    /** Mount a read-only layer disk whose dm-verity root hash is {@code deviceHash} at {@code target}. */
    record MountDevice(String target, String deviceHash) implements EnforcementRequest {
        public MountDevice {
            Fields.require(target, "target");
            Fields.require(deviceHash, "deviceHash");
        }
    }

    record UnmountDevice(String unmountTarget) implements EnforcementRequest {
        public UnmountDevice {
            Fields.require(unmountTarget, "unmountTarget");
        }
    }

    /** Mount a container's rootfs at {@code target} from mounted layers, top-most layer first. */
    record MountOverlay(String containerID, List<String> layerPaths, String target) implements EnforcementRequest {
        public MountOverlay {
            Fields.require(containerID, "containerID");
            Fields.require(target, "target");
            layerPaths = Fields.list(layerPaths, "layerPaths");
        }
    }

    record UnmountOverlay(String unmountTarget) implements EnforcementRequest {
        public UnmountOverlay {
            Fields.require(unmountTarget, "unmountTarget");
        }
    }

    /**
     * A mount of create_container. {@code files}: for a volume whose content the host supplied, each
     * file's digest as the agent computed it, sorted by path (see {@link FileDigest}); empty otherwise.
     */
    record Mount(String destination, String source, String type, List<String> options, List<FileDigest> files) {
        public Mount {
            Fields.require(destination, "destination");
            Fields.require(source, "source");
            Fields.require(type, "type");
            options = Fields.list(options, "options");
            // Azure's input has no files: absent is none
            files = files == null ? List.of() : FileDigest.sorted(Fields.list(files, "files"));
        }

        /** A mount of no host-supplied content. */
        public Mount(String destination, String source, String type, List<String> options) {
            this(destination, source, type, options, List.of());
        }
    }

    record IdName(String id, String name) {}

    record Capabilities(List<String> bounding, List<String> effective, List<String> inheritable,
                        List<String> permitted, List<String> ambient) {
        public Capabilities {
            bounding = Fields.list(bounding, "bounding");
            effective = Fields.list(effective, "effective");
            inheritable = Fields.list(inheritable, "inheritable");
            permitted = Fields.list(permitted, "permitted");
            ambient = Fields.list(ambient, "ambient");
        }
    }

    /**
     * Create (and start) a container on its mounted overlay. {@code seccompProfileSHA256} is ""
     * for the runtime default; {@code devices} lists device nodes requested (none are allowed).
     */
    record CreateContainer(String containerID, List<String> argList, List<String> envList, String workingDir,
                           List<Mount> mounts, boolean privileged, boolean noNewPrivileges, IdName user,
                           List<IdName> groups, String umask, Capabilities capabilities,
                           @JsonProperty("seccompProfileSHA256") String seccompProfileSHA256,
                           List<String> devices, String hostname) implements EnforcementRequest {
        public CreateContainer {
            Fields.require(containerID, "containerID");
            Fields.require(workingDir, "workingDir");
            Fields.require(user, "user");
            Fields.require(umask, "umask");
            Fields.require(capabilities, "capabilities");
            argList = Fields.list(argList, "argList");
            envList = Fields.list(envList, "envList");
            mounts = Fields.list(mounts, "mounts");
            groups = Fields.list(groups, "groups");
            devices = devices == null ? List.of() : Fields.list(devices, "devices");
            seccompProfileSHA256 = seccompProfileSHA256 == null ? "" : seccompProfileSHA256;
            hostname = hostname == null ? "" : hostname;
        }

        /** A request without a hostname (recorded before the field existed): the container gets its ID. */
        public CreateContainer(String containerID, List<String> argList, List<String> envList, String workingDir,
                               List<Mount> mounts, boolean privileged, boolean noNewPrivileges, IdName user,
                               List<IdName> groups, String umask, Capabilities capabilities, String seccompProfileSHA256,
                               List<String> devices) {
            this(containerID, argList, envList, workingDir, mounts, privileged, noNewPrivileges, user, groups, umask,
                    capabilities, seccompProfileSHA256, devices, "");
        }
    }

    /**
     * Run a process in a started container. {@code noNewPrivileges}, {@code user}, {@code groups},
     * {@code umask} and {@code capabilities} are Azure's fields for the process's own settings:
     * null when absent (Coffer's agent runs an exec with the settings its container was created
     * with and sends none of them), checked against the policy when present. {@code stdin} and
     * {@code terminal} are Coffer's (Azure's input has none): true when the host asks to write the
     * process's stdin (which the framework allows only under {@code allow_stdin}) or for a terminal;
     * null for an exec that runs to completion with no stdin.
     */
    record ExecInContainer(String containerID, List<String> argList, List<String> envList, String workingDir,
                           @JsonProperty("noNewPrivileges") Boolean noNewPrivileges, IdName user, List<IdName> groups,
                           String umask, Capabilities capabilities, Boolean stdin, Boolean terminal)
            implements EnforcementRequest {
        @JsonCreator
        public ExecInContainer {
            Fields.require(containerID, "containerID");
            Fields.require(workingDir, "workingDir");
            argList = Fields.list(argList, "argList");
            envList = Fields.list(envList, "envList");
            groups = groups == null ? null : Fields.list(groups, "groups");
        }

        /** An exec with Azure's fields only: no stdin, no terminal. */
        public ExecInContainer(String containerID, List<String> argList, List<String> envList, String workingDir,
                               Boolean noNewPrivileges, IdName user, List<IdName> groups, String umask,
                               Capabilities capabilities) {
            this(containerID, argList, envList, workingDir, noNewPrivileges, user, groups, umask, capabilities, null, null);
        }

        /** An exec that inherits its container's settings. */
        public ExecInContainer(String containerID, List<String> argList, List<String> envList, String workingDir) {
            this(containerID, argList, envList, workingDir, null, null, null, null, null);
        }
    }

    /** Run a process in the sandbox itself, outside any container. */
    record ExecExternal(List<String> argList, List<String> envList, String workingDir) implements EnforcementRequest {
        public ExecExternal {
            Fields.require(workingDir, "workingDir");
            argList = Fields.list(argList, "argList");
            envList = Fields.list(envList, "envList");
        }
    }

    /** {@code argList} names the exec'd process when {@code isInitProcess} is false. */
    record SignalContainerProcess(String containerID, int signal, @JsonProperty("isInitProcess") boolean isInitProcess,
                                  List<String> argList) implements EnforcementRequest {
        public SignalContainerProcess {
            Fields.require(containerID, "containerID");
            argList = argList == null ? List.of() : Fields.list(argList, "argList");
        }
    }

    record ShutdownContainer(String containerID) implements EnforcementRequest {
        public ShutdownContainer {
            Fields.require(containerID, "containerID");
        }
    }

    record GetProperties() implements EnforcementRequest {
    }

    record DumpStacks() implements EnforcementRequest {
    }

    record RuntimeLogging() implements EnforcementRequest {
    }

    record LoadFragment(String issuer, String feed, String namespace,
                        @JsonProperty("fragment_loaded") boolean fragmentLoaded) implements EnforcementRequest {
        public LoadFragment {
            Fields.require(issuer, "issuer");
            Fields.require(feed, "feed");
        }
    }

    record ScratchMount(String target, boolean encrypted) implements EnforcementRequest {
        public ScratchMount {
            Fields.require(target, "target");
        }
    }

    record ScratchUnmount(String unmountTarget) implements EnforcementRequest {
        public ScratchUnmount {
            Fields.require(unmountTarget, "unmountTarget");
        }
    }

    /**
     * Open the encrypted volume {@code name} (a LUKS2 image at {@code source}) with vault key
     * {@code key}, released after attestation by {@code authority} (the attestation service) and
     * {@code vault} (the key vault), read-only or not, whose LUKS2 header has SHA-256
     * {@code headerDigest} and whose sectors are authenticated as {@code integrity} says. Allowed
     * only for a volume the policy lists with exactly these values; the agent then refuses any
     * other header before the key is used, and chooses where the volume is mounted.
     */
    record MountEncryptedVolume(String name, String source, String key, String authority, String vault,
                                @JsonProperty("readOnly") boolean readOnly, String headerDigest, String integrity)
            implements EnforcementRequest {
        public MountEncryptedVolume {
            Fields.require(name, "name");
            Fields.require(source, "source");
            Fields.require(key, "key");
            Fields.require(authority, "authority");
            Fields.require(vault, "vault");
            Fields.require(headerDigest, "headerDigest");
            Fields.require(integrity, "integrity");
        }
    }

    /**
     * Format the disk the sandbox attached for a new volume as a LUKS2 volume with
     * {@code integrity} ({@code hmac-sha256} or {@code none}). The key the host sends with the
     * request is deliberately not part of the input: a policy has nothing to judge in it, and the
     * decision log must never hold it.
     */
    record FormatEncryptedVolume(String integrity) implements EnforcementRequest {
        public FormatEncryptedVolume {
            Fields.require(integrity, "integrity");
        }
    }

    /**
     * The host asks the agent to replace the policy it launched with. Never allowed: the
     * policy's hash is the sandbox's attested HOST_DATA, so a different one would run
     * workloads that attestation does not describe.
     */
    record SetPolicy(String policyText) implements EnforcementRequest {
        public SetPolicy {
            Fields.require(policyText, "policyText");
        }
    }

    /** Run the container a committed create_container wrote. */
    record StartContainer(String containerID) implements EnforcementRequest {
        public StartContainer {
            Fields.require(containerID, "containerID");
        }
    }

    /** Wait for (or look at) a container's exit. */
    record WaitContainer(String containerID) implements EnforcementRequest {
        public WaitContainer {
            Fields.require(containerID, "containerID");
        }
    }

    /** Read the container's stdout/stderr log. */
    record ReadLogs(String containerID) implements EnforcementRequest {
        public ReadLogs {
            Fields.require(containerID, "containerID");
        }
    }

    /**
     * Write a chunk of bytes into (or close) the stdin of a process exec_in_container started with
     * stdin: host input into a confidential process, allowed only under the policy's {@code allow_stdin}.
     */
    record WriteExecStdin(String containerID) implements EnforcementRequest {
        public WriteExecStdin {
            Fields.require(containerID, "containerID");
        }
    }

    /** Read an exec'd process's output and exit: its output only where the container has stdio access. */
    record ReadExecOutput(String containerID) implements EnforcementRequest {
        public ReadExecOutput {
            Fields.require(containerID, "containerID");
        }
    }

    /** Read the agent's decision log. */
    record ReadDecisionLog() implements EnforcementRequest {}

    /** A fresh attestation report for the host's nonce. */
    record GetReport() implements EnforcementRequest {}

    /** Stop every container, unmount everything and end the sandbox. */
    record ShutdownSandbox() implements EnforcementRequest {}
}
