package dev.coffer.policy.gen;

import java.util.List;

/**
 * The capability sets a container gets when the spec does not say otherwise. The generator
 * pins them in the policy and the agent must request exactly these, so both sides use this
 * one list (Docker's/containerd's defaults, which is also what ACI pins for unprivileged containers).
 */
public final class DefaultCapabilities {
    public static final List<String> UNPRIVILEGED = List.of(
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");

    /** Every capability of Linux 6.x, for containers the policy allows to run privileged. */
    public static final List<String> PRIVILEGED = List.of(
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
            "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
            "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
            "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
            "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE");

    private DefaultCapabilities() {}

    /** The capability sets pinned for a container: bounding, effective and permitted alike, none inheritable or ambient. */
    public static PolicyDocument.Capabilities forContainer(boolean privileged) {
        List<String> caps = privileged ? PRIVILEGED : UNPRIVILEGED;
        return new PolicyDocument.Capabilities(caps, caps, List.of(), caps, List.of());
    }
}
