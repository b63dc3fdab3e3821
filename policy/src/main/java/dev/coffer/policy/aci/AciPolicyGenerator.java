package dev.coffer.policy.aci;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.ImageSource;
import dev.coffer.policy.gen.ResolvedImage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The policy {@code az confcom acipolicygen} writes for an ACI container group (its
 * internal_config 1.2.7, api 0.10.0, framework 0.2.3): each container's image layers (hashed
 * from Coffer's image store), command, environment rules (the image's and the template's,
 * plus the variables ACI's infrastructure sets), mounts (the template's volumes from ACI's
 * sandbox paths, and resolv.conf), capabilities (the defaults with the securityContext's
 * add/drop), user, exec probes and stdio, then ACI's pause container and the default
 * infrastructure fragment. Enforced by Coffer's framework or by Azure's, it has the verdicts
 * acipolicygen's policy has.
 *
 * <p>On every confcom sample (and each of its switches) the output is acipolicygen's byte for
 * byte once layer hashes are those of the same-named images in the store. Mappings the samples
 * do not exercise, written from acipolicygen's documentation and internal config and not
 * compared with its output: exec probes become exec processes without signals; a
 * {@code secureValue} or a parameter without a value becomes the pattern {@code NAME=.*};
 * {@code privileged} gets hcsshim's default privileged set in bounding, effective, permitted
 * and inheritable; {@code allowPrivilegeEscalation: false} sets {@code no_new_privileges};
 * {@code seccompProfile} (base64) is pinned by the SHA-256 of its decoded bytes.
 */
public final class AciPolicyGenerator {
    static final String API_VERSION = "0.10.0";
    static final String FRAMEWORK_VERSION = "0.2.3";
    static final String DEFAULT_WORKING_DIR = "/";
    static final String RESOLV_CONF_SOURCE = "sandbox:///tmp/atlas/resolvconf/.+";

    /** Sandbox sources of each volume kind (acipolicygen's mount source table). */
    static final Map<String, String> VOLUME_SOURCES = Map.of(
            "azureFile", "sandbox:///tmp/atlas/azureFileVolume/.+",
            "secret", "sandbox:///tmp/atlas/secretsVolume/.+",
            "emptyDir", "sandbox:///tmp/atlas/emptydir/.+",
            "gitRepo", "sandbox:///tmp/atlas/gitRepoVolume/.+");

    /** Variables ACI's infrastructure sets in every container (openGCS, fabric, managedIdentity, enableRestart). */
    static final List<EnvRule> INFRASTRUCTURE_ENV = List.of(
            new EnvRule("TERM=xterm", "string", false),
            new EnvRule("(?i)(FABRIC)_.+=.+", "re2", false),
            new EnvRule("HOSTNAME=.+", "re2", false),
            new EnvRule("T(E)?MP=.+", "re2", false),
            new EnvRule("FabricPackageFileName=.+", "re2", false),
            new EnvRule("HostedServiceName=.+", "re2", false),
            new EnvRule("IDENTITY_API_VERSION=.+", "re2", false),
            new EnvRule("IDENTITY_HEADER=.+", "re2", false),
            new EnvRule("IDENTITY_SERVER_THUMBPRINT=.+", "re2", false),
            new EnvRule("azurecontainerinstance_restarted_by=.+", "re2", false));

    static final List<String> UNPRIVILEGED_CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
            "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");

    static final List<String> PRIVILEGED_CAPABILITIES = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH",
            "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
            "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
            "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN",
            "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
            "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
            "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
            "CAP_CHECKPOINT_RESTORE");

    /** ACI's pause container, as acipolicygen adds it to every group (its layer is Microsoft's pause image). */
    static final String PAUSE_LAYER = "16b514057a06ad665f92c02863aca074fd5976c755d26bff16365299169e8415";

    /** The infrastructure fragment acipolicygen lists unless told not to. */
    static final String INFRA_FRAGMENT_FEED = "mcr.microsoft.com/aci/aci-cc-infra-fragment";
    static final String INFRA_FRAGMENT_ISSUER =
            "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.3";

    /** The enforcement points an acipolicygen policy binds, in its order. */
    static final List<String> BINDINGS = List.of("mount_device", "unmount_device", "mount_overlay", "unmount_overlay",
            "create_container", "exec_in_container", "exec_external", "shutdown_container", "signal_container_process",
            "plan9_mount", "plan9_unmount", "get_properties", "dump_stacks", "runtime_logging", "load_fragment",
            "scratch_mount", "scratch_unmount");

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).build();

    record EnvRule(String pattern, String strategy, boolean required) {
        Map<String, Object> json() {
            return new TreeMap<>(Map.of("pattern", pattern, "strategy", strategy, "required", required));
        }
    }

    /**
     * acipolicygen's switches that change the policy: {@code --debug-mode}, {@code --disable-stdio},
     * {@code --exclude-default-fragments}, {@code --infrastructure-svn} (the infrastructure
     * fragment's minimum SVN, a decimal number).
     */
    public record Options(boolean debugMode, boolean disableStdio, boolean excludeDefaultFragment, String infrastructureSvn) {
        public static final String DEFAULT_INFRASTRUCTURE_SVN = "1";
        public static final Options DEFAULT = new Options(false, false, false, DEFAULT_INFRASTRUCTURE_SVN);

        public Options {
            infrastructureSvn = infrastructureSvn == null ? DEFAULT_INFRASTRUCTURE_SVN : infrastructureSvn;
            if (!infrastructureSvn.matches("[0-9]{1,9}")) {
                throw new IllegalArgumentException("the infrastructure SVN must be a decimal number: found '" + infrastructureSvn + "'");
            }
        }
    }

    private final ImageSource images;

    public AciPolicyGenerator(ImageSource images) {
        this.images = images;
    }

    public GeneratedPolicy generate(AciGroup group, Options options) throws IOException {
        List<Object> containers = new ArrayList<>();
        for (AciGroup.Container c : group.containers()) {
            containers.add(container(c, images.resolve(c.image()), group, options));
        }
        containers.add(pause(options));
        StringBuilder out = new StringBuilder();
        out.append("package policy\n\nimport future.keywords.every\nimport future.keywords.in\n\n");
        out.append("api_version := \"").append(API_VERSION).append("\"\n");
        out.append("framework_version := \"").append(FRAMEWORK_VERSION).append("\"\n\n");
        if (options.excludeDefaultFragment()) {
            out.append("fragments := []\n\n");
        } else {
            out.append("fragments := [\n  {\n    \"feed\": \"").append(INFRA_FRAGMENT_FEED).append("\",\n")
                    .append("    \"includes\": [\n      \"containers\",\n      \"fragments\"\n    ],\n")
                    .append("    \"issuer\": \"").append(INFRA_FRAGMENT_ISSUER).append("\",\n")
                    .append("    \"minimum_svn\": \"").append(options.infrastructureSvn()).append("\"\n  }\n]\n\n");
        }
        out.append("containers := ").append(json(containers)).append("\n\n");
        boolean debug = options.debugMode();
        out.append("allow_properties_access := true\n");
        out.append("allow_dump_stacks := ").append(debug).append('\n');
        out.append("allow_runtime_logging := ").append(debug).append('\n');
        out.append("allow_environment_variable_dropping := true\n");
        out.append("allow_unencrypted_scratch := false\n");
        out.append("allow_capability_dropping := true\n\n");
        for (String point : BINDINGS) {
            out.append(point).append(" := data.framework.").append(point).append('\n');
        }
        out.append("\nreason := {\"errors\": data.framework.errors}\n");
        return GeneratedPolicy.of(out.toString());
    }

    static Map<String, Object> container(AciGroup.Container c, ResolvedImage image, AciGroup group, Options options) {
        Map<String, Object> m = new TreeMap<>();
        AciGroup.SecurityContext sc = c.security();
        m.put("id", c.image());
        m.put("name", c.name());
        m.put("layers", image.layerHashes());
        List<String> command = c.command() != null ? c.command() : concat(image.entrypoint(), image.cmd());
        m.put("command", command.isEmpty() ? null : command);
        m.put("env_rules", envRules(c, image).stream().map(EnvRule::json).toList());
        m.put("working_dir", image.workingDir().isEmpty() ? DEFAULT_WORKING_DIR : image.workingDir());
        List<Object> mounts = new ArrayList<>();
        for (AciGroup.VolumeMount vm : c.volumeMounts()) {
            mounts.add(mount(vm.mountPath(), VOLUME_SOURCES.get(group.volumes().get(vm.volume())), vm.readOnly()));
        }
        mounts.add(mount("/etc/resolv.conf", RESOLV_CONF_SOURCE, false));
        m.put("mounts", mounts);
        List<Object> execs = new ArrayList<>();
        for (List<String> probe : c.execProbes()) execs.add(process(probe));
        if (options.debugMode()) {
            execs.add(process(List.of("/bin/sh")));
            execs.add(process(List.of("/bin/bash")));
        }
        m.put("exec_processes", execs);
        m.put("signals", List.of());
        m.put("allow_elevated", sc.privileged());
        m.put("allow_stdio_access", !options.disableStdio());
        m.put("no_new_privileges", !sc.allowPrivilegeEscalation());
        m.put("seccomp_profile_sha256", sc.seccompProfile() == null ? "" : seccompSha256(sc.seccompProfile(), c.name()));
        m.put("user", user(sc.runAsUser(), sc.runAsGroup()));
        m.put("capabilities", capabilities(sc));
        return m;
    }

    /** The image's variables, the template's replacing same-named ones, then the infrastructure's; sorted as acipolicygen sorts them. */
    static List<EnvRule> envRules(AciGroup.Container c, ResolvedImage image) {
        Map<String, EnvRule> byName = new LinkedHashMap<>();
        for (String kv : image.env()) {
            int eq = kv.indexOf('=');
            byName.put(eq < 0 ? kv : kv.substring(0, eq), new EnvRule(kv, "string", false));
        }
        for (AciGroup.EnvVar e : c.env()) {
            byName.put(e.name(), e.pattern() ? new EnvRule(e.name() + "=" + e.value(), "re2", false)
                    : new EnvRule(e.name() + "=" + e.value(), "string", false));
        }
        Map<String, EnvRule> byPattern = new TreeMap<>();
        for (EnvRule r : byName.values()) byPattern.put(r.pattern(), r);
        for (EnvRule r : INFRASTRUCTURE_ENV) byPattern.putIfAbsent(r.pattern(), r);
        return List.copyOf(byPattern.values());
    }

    static Map<String, Object> mount(String destination, String source, boolean readOnly) {
        return new TreeMap<>(Map.of("destination", destination, "source", source, "type", "bind",
                "options", List.of("rbind", "rshared", readOnly ? "ro" : "rw")));
    }

    static Map<String, Object> process(List<String> command) {
        return new TreeMap<>(Map.of("command", command, "signals", List.of()));
    }

    static Map<String, Object> user(Long uid, Long gid) {
        Map<String, Object> u = new TreeMap<>();
        u.put("umask", "0022");
        u.put("user_idname", idName(uid));
        u.put("group_idnames", List.of(idName(gid)));
        return u;
    }

    private static Map<String, Object> idName(Long id) {
        return new TreeMap<>(id == null ? Map.of("pattern", "", "strategy", "any") : Map.of("pattern", Long.toString(id), "strategy", "id"));
    }

    static Map<String, Object> capabilities(AciGroup.SecurityContext sc) {
        TreeSet<String> caps = new TreeSet<>(sc.privileged() ? PRIVILEGED_CAPABILITIES : UNPRIVILEGED_CAPABILITIES);
        caps.addAll(sc.capabilitiesAdd());
        sc.capabilitiesDrop().forEach(caps::remove);
        List<String> list = List.copyOf(caps);
        Map<String, Object> m = new TreeMap<>();
        m.put("bounding", list);
        m.put("effective", list);
        m.put("permitted", list);
        m.put("inheritable", sc.privileged() ? list : List.of());
        m.put("ambient", List.of());
        return m;
    }

    static Map<String, Object> pause(Options options) {
        Map<String, Object> m = new TreeMap<>();
        m.put("name", "pause-container");
        m.put("command", List.of("/pause"));
        m.put("env_rules", List.of(new EnvRule("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "string", true).json(),
                new EnvRule("TERM=xterm", "string", false).json()));
        m.put("layers", List.of(PAUSE_LAYER));
        m.put("mounts", List.of());
        m.put("exec_processes", List.of());
        m.put("signals", List.of());
        m.put("allow_elevated", false);
        m.put("allow_stdio_access", !options.disableStdio());
        m.put("working_dir", DEFAULT_WORKING_DIR);
        m.put("no_new_privileges", false);
        m.put("seccomp_profile_sha256", "");
        m.put("user", user(null, null));
        Map<String, Object> caps = new LinkedHashMap<>();
        caps.put("bounding", UNPRIVILEGED_CAPABILITIES);
        caps.put("effective", UNPRIVILEGED_CAPABILITIES);
        caps.put("inheritable", List.of());
        caps.put("permitted", UNPRIVILEGED_CAPABILITIES);
        caps.put("ambient", List.of());
        m.put("capabilities", caps);
        return m;
    }

    private static String seccompSha256(String base64Profile, String container) {
        byte[] profile;
        try {
            profile = Base64.getDecoder().decode(base64Profile);
        } catch (IllegalArgumentException e) {
            throw new ArmTemplateException("container '" + container + "': securityContext.seccompProfile is not base64 ("
                    + e.getMessage() + "); give the profile JSON base64-encoded");
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(profile));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
