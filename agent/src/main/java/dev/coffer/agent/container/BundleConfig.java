package dev.coffer.agent.container;

import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.enforce.EnforcementRequest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The OCI runtime-spec {@code config.json} of one container: the process from the request, the
 * standard pseudo file systems, the group's shared network namespace, the capabilities the
 * policy decision returned, the runtime-default seccomp profile, and masked kernel interfaces.
 */
final class BundleConfig {
    static final List<String> DEFAULT_CAPABILITIES = List.of(
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");

    private BundleConfig() {}

    /**
     * @param mounts the request's mounts with sandbox:// sources already resolved to host paths
     */
    static Map<String, Object> build(Request.CreateContainer req, EnforcementRequest.Capabilities caps, ResourceLimits limits,
                                     String rootfs,
                                     int uid, int gid, List<Integer> groups,
                                     List<Request.Mount> mounts, String netnsPath, String cgroupsPath) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("ociVersion", "1.0.2");

        Map<String, Object> user = new LinkedHashMap<>();
        user.put("uid", uid);
        user.put("gid", gid);
        if (!groups.isEmpty()) user.put("additionalGids", groups);

        // all five sets from the policy decision: a set left out would be the runtime's choice, not the policy's
        Map<String, Object> capabilities = new LinkedHashMap<>();
        capabilities.put("bounding", caps.bounding());
        capabilities.put("effective", caps.effective());
        capabilities.put("inheritable", caps.inheritable());
        capabilities.put("permitted", caps.permitted());
        capabilities.put("ambient", caps.ambient());

        Map<String, Object> process = new LinkedHashMap<>();
        process.put("terminal", false);
        process.put("user", user);
        process.put("args", req.argList());
        process.put("env", req.envList() == null ? List.of() : req.envList());
        process.put("cwd", req.workingDir() == null || req.workingDir().isBlank() ? "/" : req.workingDir());
        process.put("capabilities", capabilities);
        process.put("rlimits", List.of(Map.of("type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024)));
        process.put("noNewPrivileges", req.noNewPrivileges());
        config.put("process", process);

        config.put("root", Map.of("path", rootfs, "readonly", false));
        config.put("hostname", req.hostname() == null || req.hostname().isBlank() ? req.containerID() : req.hostname());

        List<Object> allMounts = new ArrayList<>();
        allMounts.add(mount("/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev")));
        allMounts.add(mount("/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k")));
        allMounts.add(mount("/dev/pts", "devpts", "devpts",
                List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620")));
        allMounts.add(mount("/dev/shm", "shm", "tmpfs", List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
        allMounts.add(mount("/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev")));
        allMounts.add(mount("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro")));
        for (Request.Mount m : mounts) {
            allMounts.add(mount(m.destination(), m.source(), m.type(), m.options() == null ? List.of() : m.options()));
        }
        config.put("mounts", allMounts);

        Map<String, Object> linux = new LinkedHashMap<>();
        linux.put("namespaces", List.of(
                Map.of("type", "pid"),
                Map.of("type", "ipc"),
                Map.of("type", "uts"),
                Map.of("type", "mount"),
                // every container of the group joins the same network namespace, like a pod
                Map.of("type", "network", "path", netnsPath)));
        linux.put("cgroupsPath", cgroupsPath);
        Map<String, Object> resources = new LinkedHashMap<>();
        if (limits.memoryBytes() > 0) {
            // swap as large as memory: the limit holds for memory and swap together
            resources.put("memory", Map.of("limit", limits.memoryBytes(), "swap", limits.memoryBytes()));
        }
        if (limits.pids() > 0) resources.put("pids", Map.of("limit", limits.pids()));
        if (!resources.isEmpty()) linux.put("resources", resources);
        linux.put("maskedPaths", List.of("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap",
                // configfs holds the TEE's report interface (configfs-tsm): a container writing its own
                // REPORT_DATA there would get a genuine report binding a key of its choice
                "/sys/kernel/config", "/sys/kernel/security"));
        linux.put("readonlyPaths", List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
        linux.put("seccomp", SeccompRender.forCapabilities(caps.bounding()));
        config.put("linux", linux);
        return config;
    }

    private static Map<String, Object> mount(String destination, String source, String type, List<String> options) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("destination", destination);
        m.put("type", type);
        m.put("source", source);
        m.put("options", options);
        return m;
    }
}
