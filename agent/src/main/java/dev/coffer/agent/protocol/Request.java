package dev.coffer.agent.protocol;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.coffer.policy.enforce.EnforcementPoint;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the host may ask of the agent. Each record is one policy enforcement point
 * (DESIGN.md §4): the names and field names follow Azure's documented enforcement inputs
 * ({@code mount_device{target, deviceHash}}, {@code mount_overlay{containerID, layerPaths,
 * target}}, {@code create_container{containerID, argList, envList, workingDir, mounts}}, ...),
 * so a policy written against those inputs can judge these requests unchanged.
 */
// the subtypes and their "type" names are registered by Protocol from wireNames(): see there
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
public sealed interface Request {

    /**
     * Every request type with its wire name, which is its enforcement point's name: the record's
     * name in snake case ({@code MountDevice} is {@code mount_device}), checked here against the
     * points the policy module declares ({@link EnforcementPoint}), so a request cannot exist without
     * its point. {@link Ping} alone is no point: it is the protocol's handshake (the version check)
     * and reveals and changes nothing.
     */
    static Map<Class<? extends Request>, String> wireNames() {
        return WireNames.BY_TYPE;
    }

    /** The enforcement point name a policy rule is bound to, e.g. {@code mount_device} ("ping" for the handshake). */
    default String enforcementPoint() {
        return WireNames.BY_TYPE.get(getClass());
    }

    /** Liveness check; changes nothing. */
    record Ping() implements Request {}

    /** Agent version, protocol version, OCI runtime in use, enforcer in use, containers. */
    record GetProperties() implements Request {}

    /**
     * Makes a layer disk (ext4 + dm-verity tree, see dev.coffer.layer.LayerDisk) available read-only
     * at {@code target}, provided its dm-verity root hash is {@code deviceHash} (64 hex digits, the
     * value the policy pins). {@code source} is the disk file.
     */
    record MountDevice(String source, String target, String deviceHash) implements Request {}

    record UnmountDevice(String target) implements Request {}

    /** Overlay of {@code layerPaths} (base first, as mounted by MountDevice) at {@code target}. */
    record MountOverlay(String containerID, List<String> layerPaths, String target) implements Request {}

    record UnmountOverlay(String containerID, String target) implements Request {}

    /**
     * Writes the OCI bundle of a container whose root file system is the overlay at {@code rootfs}.
     * {@code capabilities} null means the default set; {@code user} is "uid[:gid]" or a name
     * looked up in the image's /etc/passwd; {@code additionalGids} (null: none) are the process's
     * supplementary groups, the OCI spec's {@code process.user.additionalGids}, which the policy
     * checks with the primary group.
     */
    record CreateContainer(String containerID, String rootfs, List<String> argList, List<String> envList,
                           String workingDir, String user, List<Integer> additionalGids, List<Mount> mounts,
                           List<String> capabilities, boolean noNewPrivileges, String hostname) implements Request {}

    record StartContainer(String containerID) implements Request {}

    /**
     * Runs a process in a running container. Without {@code execID} it runs to completion (at most
     * {@code timeoutMillis}) and the answer is its exit code and bounded output. With one it is
     * started and left running: the host writes its stdin with {@link WriteExecStdin} (only when
     * {@code stdin} asked for it, and the policy allows stdin), reads its output and exit with
     * {@link ReadExecOutput} and signals it with {@link SignalContainerProcess} naming the exec.
     * {@code terminal} asks for a pseudo-terminal as its stdio.
     */
    record ExecInContainer(String containerID, List<String> argList, List<String> envList, String workingDir,
                           long timeoutMillis, String execID, boolean stdin, boolean terminal) implements Request {
        /** An exec that runs to completion. */
        public ExecInContainer(String containerID, List<String> argList, List<String> envList, String workingDir,
                               long timeoutMillis) {
            this(containerID, argList, envList, workingDir, timeoutMillis, null, false, false);
        }

        /** Whether it is started and left running (an exec process the host streams), rather than run to completion. */
        public boolean streaming() {
            return execID != null;
        }
    }

    /**
     * Writes {@code data} (base64 on the wire, at most {@link #MAX_STDIN_CHUNK} bytes) into the stdin
     * of exec process {@code execID}, then closes it when {@code close}. Host input into a
     * confidential process: allowed only where the policy says {@code allow_stdin}.
     */
    record WriteExecStdin(String containerID, String execID, byte[] data, boolean close) implements Request {
        /** Never prints the bytes: they may be a password typed into the process, and requests appear in messages. */
        @Override
        public String toString() {
            return "WriteExecStdin[containerID=" + containerID + ", execID=" + execID + ", data=("
                    + (data == null ? 0 : data.length) + " bytes, not shown), close=" + close + "]";
        }
    }

    /** The largest stdin chunk one {@link WriteExecStdin} carries. */
    int MAX_STDIN_CHUNK = 64 * 1024;

    /**
     * Up to {@code maxBytes} of exec process {@code execID}'s stdout from {@code stdoutOffset} and
     * of its stderr from {@code stderrOffset}, waiting up to {@code waitMillis} (at most
     * {@link #LONGEST_OUTPUT_WAIT}) for output or the exit when there is none yet. Reading from an
     * offset releases the bytes before it: the agent buffers only what the host has not read.
     */
    record ReadExecOutput(String containerID, String execID, long stdoutOffset, long stderrOffset, int maxBytes,
                          long waitMillis) implements Request {}

    /**
     * The longest a {@link ReadExecOutput} waits for output: short, because a microVM's agent session
     * relays one request at a time, so a long poll holds up the host's other requests.
     */
    Duration LONGEST_OUTPUT_WAIT = Duration.ofSeconds(2);

    /**
     * Signals the container's init process, or with {@code execID} an exec process started with one
     * (what the policy judges then is the exec's command against the container's exec_processes' signals).
     */
    record SignalContainerProcess(String containerID, int signal, String execID) implements Request {
        public SignalContainerProcess(String containerID, int signal) {
            this(containerID, signal, null);
        }
    }


    /** Waits up to {@code timeoutMillis} (0 = just look) for the container to exit. */
    record WaitContainer(String containerID, long timeoutMillis) implements Request {}

    /** Up to {@code maxBytes} of the container's combined stdout/stderr log from {@code offset}. */
    record ReadLogs(String containerID, long offset, int maxBytes) implements Request {}

    /**
     * SIGTERM, then SIGKILL after {@code graceMillis} (0: at once; negative: the default 10 s; at
     * most {@link #LONGEST_GRACE}); deletes the container and its overlay.
     */
    record ShutdownContainer(String containerID, long graceMillis) implements Request {
        /** The grace the agent gives, as {@link #graceOf} resolves it. */
        public Duration grace() {
            return graceOf(graceMillis);
        }
    }

    /** Shuts every container down (each with {@code graceMillis}, as for ShutdownContainer), unmounts everything, removes the network, then the agent exits. */
    record ShutdownSandbox(long graceMillis) implements Request {
        public Duration grace() {
            return graceOf(graceMillis);
        }
    }

    /** The grace of a stop when the caller gives none (a negative grace). */
    Duration DEFAULT_GRACE = Duration.ofSeconds(10);
    /**
     * The longest grace the agent gives a stop: a caller that escalates itself (containerd sends
     * SIGKILL when its own timeout ends) asks for this much, and a larger one is cut to it.
     */
    Duration LONGEST_GRACE = Duration.ofMinutes(10);

    /** A stop's grace: 0 is SIGKILL right after SIGTERM, negative the default, never more than the longest. */
    static Duration graceOf(long graceMillis) {
        if (graceMillis < 0) return DEFAULT_GRACE;
        return Duration.ofMillis(Math.min(graceMillis, LONGEST_GRACE.toMillis()));
    }

    /**
     * A fresh attestation report from the sandbox's TEE for a caller's challenge:
     * {@code nonceHex} is 1..32 bytes in hex; the report's REPORT_DATA is
     * {@code HostChallenge.reportData(nonce)} (a fixed tag, then the nonce), so a host-requested
     * report can prove freshness but never bind a key.
     */
    record GetReport(String nonceHex) implements Request {}

    /**
     * A chunk of the agent's policy decision log (JSON lines) from byte {@code offset}: how the
     * host reads it when the agent runs where the host cannot open its files (a microVM).
     */
    record ReadDecisionLog(long offset, int maxBytes) implements Request {}

    /**
     * Opens the group's encrypted volume {@code name}: the agent releases vault key {@code key}
     * through its TEE's attestation ({@code authority} = attestation service, {@code vault} = key
     * vault, the SKR flow), opens the LUKS2 image with dm-crypt and mounts it where container
     * mounts {@code sandbox:///encrypted/NAME} find it. {@code source} is the image as the spec
     * names it (what the policy pins), as are {@code headerDigest} (SHA-256 of its LUKS2 header)
     * and {@code integrity} ({@code hmac-sha256} or {@code none}). {@code device} is where the agent
     * reads it: a file in the process sandbox; in a microVM only the virtio disk whose serial the
     * agent derives from the volume's name. Whatever it holds, the agent refuses any header but
     * the pinned one before the key is used.
     */
    record MountEncryptedVolume(String name, String source, String key, String authority, String vault,
                                boolean readOnly, String headerDigest, String integrity, String device) implements Request {}

    /**
     * Formats the disk a sandbox launched to create a volume attached for it (serial
     * {@code coffer-newvol}, never a path the host names, and only while it holds nothing) as a
     * LUKS2 volume with {@code integrity} ({@code hmac-sha256} or {@code none}) and an empty ext4,
     * keyed by {@code key} (base64url, the key the host imports into the vault), and answers the
     * header's digest. Generated policies never allow it: a group's sandbox formats nothing.
     */
    record FormatEncryptedVolume(String key, String integrity) implements Request {
        /** Never shows the key: records print their fields, and requests appear in messages and logs. */
        @Override
        public String toString() {
            return "FormatEncryptedVolume[key=(" + (key == null ? "none" : key.length() + " characters, not shown") + "), integrity="
                    + integrity + "]";
        }
    }

    /**
     * Puts the group's scratch (its containers' writable layers and emptyDir volumes) at
     * {@code target}, the agent's {@code STATE/scratch}: with {@code encrypted}, on the disk the
     * sandbox attached for it, encrypted and integrity-protected with a key made inside the sandbox
     * that never leaves it (see dev.coffer.agent.volume.ScratchVolume); without, unencrypted, which
     * the policy must allow ({@code allow_unencrypted_scratch}). Azure's {@code scratch_mount{target,
     * encrypted}}. Sent once, before the first container.
     */
    record ScratchMount(String target, boolean encrypted) implements Request {}

    /**
     * A mount in a container, in OCI runtime-spec terms: a group volume is
     * {@code sandbox:///volumes/NAME} (bind), an opened encrypted volume
     * {@code sandbox:///encrypted/NAME}: the forms the generated policy pins. A Kubernetes volume
     * whose files the host supplies (a ConfigMap's, a Secret's, see
     * {@link dev.coffer.policy.enforce.ContentVolumeKind}) is {@code sandbox:///files/KIND/NAME}
     * with its {@code files}, which the agent copies into the sandbox and mounts read-only; the
     * policy checks their digests, computed by the agent. {@code files} is null for other mounts.
     */
    record Mount(String destination, String source, String type, List<String> options, List<MountFile> files) {
        public Mount(String destination, String source, String type, List<String> options) {
            this(destination, source, type, options, null);
        }
    }

    /** One file of a host-supplied volume: its path inside the volume and its bytes (base64 on the wire). */
    record MountFile(String path, byte[] content) {}

    /** Derives the wire names once (a nested class, so the interface itself holds no state). */
    final class WireNames {
        static final String PING = "ping";
        static final Map<Class<? extends Request>, String> BY_TYPE = derive();

        private WireNames() {}

        @SuppressWarnings("unchecked")
        private static Map<Class<? extends Request>, String> derive() {
            Map<Class<? extends Request>, String> names = new LinkedHashMap<>();
            for (Class<?> type : Request.class.getPermittedSubclasses()) {
                String name = snakeCase(type.getSimpleName());
                if (!name.equals(PING) && EnforcementPoint.named(name) == null) {
                    throw new IllegalStateException("request " + type.getSimpleName() + " has no enforcement point '" + name
                            + "'; declare it in EnforcementPoint with its rule in framework.rego");
                }
                names.put((Class<? extends Request>) type, name);
            }
            return Map.copyOf(names);
        }

        static String snakeCase(String camel) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < camel.length(); i++) {
                char c = camel.charAt(i);
                if (Character.isUpperCase(c)) {
                    if (i > 0) sb.append('_');
                    sb.append(Character.toLowerCase(c));
                } else {
                    sb.append(c);
                }
            }
            return sb.toString();
        }
    }
}
