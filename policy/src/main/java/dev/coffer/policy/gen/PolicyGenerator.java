package dev.coffer.policy.gen;

import dev.coffer.policy.model.ContainerPolicyInput;
import dev.coffer.policy.model.EncryptedVolumeInput;
import dev.coffer.policy.model.EnvVarInput;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.model.ExecProcessInput;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.model.MountInput;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a group spec into a policy in ACI's schema: for each container, the layer hashes of its
 * image (base first), the exact argv, env, working directory, mounts, user, capabilities and
 * security flags it may be launched with, and what may be exec'd into it later.
 *
 * <p>No pause/infra container is emitted: Coffer's agent creates the group's shared network
 * namespace itself, so there is no extra container for the host to launch (and so none to pin).
 */
public final class PolicyGenerator {
    /** The ACI policy API version our policies declare (the enforcement points they bind). */
    public static final String API_VERSION = "0.10.0";
    /** The version of our framework.rego the generated policies are written against. */
    public static final String FRAMEWORK_VERSION = "0.1.0";
    /** Mount sources starting with this prefix live under the sandbox directory the agent reports. */
    public static final String SANDBOX_PREFIX = "sandbox://";
    /** Where a group volume NAME lives inside the sandbox: {@code sandbox:///volumes/NAME}. */
    public static final String VOLUME_SOURCE_PREFIX = SANDBOX_PREFIX + "/volumes/";
    /** Where an opened encrypted volume NAME is mounted inside the sandbox: {@code sandbox:///encrypted/NAME}. */
    public static final String ENCRYPTED_SOURCE_PREFIX = SANDBOX_PREFIX + "/encrypted/";
    /** Signals the host may send a container's init process when the spec lists none: stop and kill. */
    public static final List<Integer> DEFAULT_SIGNALS = List.of(9, 15);
    public static final String DEFAULT_UMASK = "0022";

    private final ImageSource images;

    public PolicyGenerator(ImageSource images) {
        this.images = images;
    }

    /**
     * Generates the policy text and its hash. Every image is resolved and every layer hashed
     * before anything is returned, so a failure leaves nothing half-generated.
     */
    public GeneratedPolicy generate(GroupPolicyInput group, boolean debugMode) throws IOException {
        return GeneratedPolicy.of(RegoPolicyWriter.write(document(group, debugMode)));
    }

    public PolicyDocument document(GroupPolicyInput group, boolean debugMode) throws IOException {
        // Images shared by several containers are hashed once.
        Map<String, ResolvedImage> resolved = new LinkedHashMap<>();
        List<PolicyDocument.Container> containers = new ArrayList<>();
        for (ContainerPolicyInput c : group.containers()) {
            ResolvedImage image = resolved.get(c.image());
            if (image == null) {
                image = images.resolve(c.image());
                resolved.put(c.image(), image);
            }
            containers.add(container(c, image, debugMode, encryptedNames(group)));
        }
        List<PolicyDocument.ExternalProcess> external = debugMode
                ? List.of(new PolicyDocument.ExternalProcess(List.of("/bin/sh"),
                        List.of(new PolicyDocument.EnvRule("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "string", false)),
                        "/", true))
                : List.of();
        PolicyDocument.Flags flags = new PolicyDocument.Flags(true, debugMode, debugMode, false,
                group.allowUnencryptedScratch(), false, group.allowStdin());
        List<PolicyDocument.EncryptedVolume> encrypted = group.encryptedVolumes().stream()
                .map(v -> new PolicyDocument.EncryptedVolume(v.name(), v.source(), v.key(), v.authority(), v.vault(), v.readOnly(),
                        v.headerDigest(), v.integrity()))
                .toList();
        return new PolicyDocument(API_VERSION, FRAMEWORK_VERSION, debugMode, containers, external, flags, encrypted, group.launch(),
                group.keyChannelPins());
    }

    private static java.util.Set<String> encryptedNames(GroupPolicyInput group) {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (EncryptedVolumeInput v : group.encryptedVolumes()) names.add(v.name());
        return names;
    }

    static PolicyDocument.Container container(ContainerPolicyInput c, ResolvedImage image, boolean debugMode) {
        return container(c, image, debugMode, java.util.Set.of());
    }

    /** {@code encrypted}: the volumes that are encrypted, whose mounts come from where mount_encrypted_volume opened them. */
    static PolicyDocument.Container container(ContainerPolicyInput c, ResolvedImage image, boolean debugMode,
                                              java.util.Set<String> encrypted) {
        List<String> command = argv(c, image);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("container '" + c.name() + "' has no command: image " + image.reference()
                    + " sets no entrypoint or cmd and the spec sets no command; add command: to the spec");
        }
        List<PolicyDocument.EnvRule> envRules = envRules(c, image);
        String workingDir = c.workingDir() != null && !c.workingDir().isEmpty() ? c.workingDir()
                : image.workingDir().isEmpty() ? "/" : image.workingDir();
        List<PolicyDocument.Mount> mounts = new ArrayList<>();
        for (MountInput m : c.volumeMounts()) {
            if (m.content() != null) {
                mounts.add(new PolicyDocument.Mount(m.mountPath(), m.content().kind().policySource(quoteMeta(m.volume())), "bind",
                        List.of("rbind", "rshared", "ro"), m.content().files()));
                continue;
            }
            String prefix = encrypted.contains(m.volume()) ? ENCRYPTED_SOURCE_PREFIX : VOLUME_SOURCE_PREFIX;
            mounts.add(new PolicyDocument.Mount(m.mountPath(), prefix + quoteMeta(m.volume()), "bind",
                    List.of("rbind", "rshared", m.readOnly() ? "ro" : "rw")));
        }
        List<PolicyDocument.ExecProcess> execs = new ArrayList<>();
        for (ExecProcessInput x : c.execProcesses()) {
            execs.add(new PolicyDocument.ExecProcess(x.command(), x.signals()));
        }
        if (debugMode && execs.stream().noneMatch(x -> x.command().equals(List.of("/bin/sh")))) {
            execs.add(new PolicyDocument.ExecProcess(List.of("/bin/sh"), List.of()));
        }
        List<Integer> signals = c.signals().isEmpty() ? DEFAULT_SIGNALS : c.signals();
        String user = c.user() != null && !c.user().isEmpty() ? c.user() : image.user();
        boolean privileged = c.security().privileged();
        return new PolicyDocument.Container(image.reference(), c.name(), image.layerHashes(), command, envRules,
                workingDir, mounts, execs, signals, user(user, c.supplementalGroups()), DefaultCapabilities.forContainer(privileged),
                c.security().seccompProfileSha256(), privileged, c.security().allowStdioAccess(),
                c.security().noNewPrivileges(), c.security().limits().none() ? null
                        : new PolicyDocument.Limits(c.security().limits().memoryBytes(), c.security().limits().pids()));
    }

    /**
     * Kubernetes semantics: {@code command} replaces the entrypoint and, when given without
     * {@code args}, also drops the image's cmd; {@code args} alone replaces only the cmd.
     */
    static List<String> argv(ContainerPolicyInput c, ResolvedImage image) {
        List<String> argv = new ArrayList<>();
        if (c.command() != null) {
            argv.addAll(c.command());
            if (c.args() != null) argv.addAll(c.args());
        } else {
            argv.addAll(image.entrypoint());
            argv.addAll(c.args() != null ? c.args() : image.cmd());
        }
        return argv;
    }

    /**
     * The image's env (with the default PATH if it has none), with spec entries replacing
     * same-named ones in place and new ones appended:
     * the exact list the runtime launches the container with. Every rule is required, so a host
     * that drops a variable (say, one that turns on TLS verification) is refused.
     */
    static List<PolicyDocument.EnvRule> envRules(ContainerPolicyInput c, ResolvedImage image) {
        Map<String, PolicyDocument.EnvRule> rules = new LinkedHashMap<>();
        for (String kv : image.env()) {
            int eq = kv.indexOf('=');
            String name = eq < 0 ? kv : kv.substring(0, eq);
            String value = eq < 0 ? "" : kv.substring(eq + 1);
            rules.put(name, new PolicyDocument.EnvRule(name + "=" + value, "string", true));
        }
        // the runtime gives a container without PATH the conventional one (GroupSpec.DEFAULT_PATH)
        rules.putIfAbsent("PATH", new PolicyDocument.EnvRule("PATH=" + GroupSpec.DEFAULT_PATH, "string", true));
        for (EnvVarInput e : c.env()) {
            PolicyDocument.EnvRule rule = e.variable()
                    ? new PolicyDocument.EnvRule(quoteMeta(e.name()) + "=" + e.value(), "re2", true)
                    : new PolicyDocument.EnvRule(e.name() + "=" + e.value(), "string", true);
            if (e.variable()) {
                checkRe2(c.name(), e);
            }
            rules.put(e.name(), rule);
        }
        return List.copyOf(rules.values());
    }

    /** Escapes RE2 metacharacters (like Go's regexp.QuoteMeta) so a name matches only itself. */
    static String quoteMeta(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if ("\\.+*?()|[]{}^$".indexOf(ch) >= 0) sb.append('\\');
            sb.append(ch);
        }
        return sb.toString();
    }

    private static void checkRe2(String container, EnvVarInput e) {
        try {
            com.google.re2j.Pattern.compile(e.value());
        } catch (com.google.re2j.PatternSyntaxException ex) {
            throw new IllegalArgumentException("container '" + container + "': env " + e.name()
                    + " is marked variable but its value '" + e.value() + "' is not a valid RE2 pattern: "
                    + ex.getDescription() + "; fix the pattern");
        }
    }

    /**
     * ACI's user rule. An empty user means the OCI default, root (uid 0); "uid[:gid]" pins ids,
     * anything else pins names. The framework checks every group of the process (its primary
     * group and each supplementary one, what the OCI spec's gid and additionalGids hold) against
     * {@code group_idnames}, so the list is the primary group, then {@code supplementalGroups} in
     * ascending order, each once. Without a group in {@code user} the primary group is the
     * image's /etc/passwd's (or the runtime's default), which is not known here: any group is
     * allowed then, as ACI does, and the supplementary ones add nothing to "any".
     */
    static PolicyDocument.User user(String user, List<Integer> supplementalGroups) {
        String u = user.isEmpty() ? "0" : user;
        String userPart = u;
        String groupPart = null;
        int colon = u.indexOf(':');
        if (colon >= 0) {
            userPart = u.substring(0, colon);
            groupPart = u.substring(colon + 1);
        }
        PolicyDocument.IdName userRule = idName(userPart);
        if (groupPart == null || groupPart.isEmpty()) {
            return new PolicyDocument.User(userRule, List.of(new PolicyDocument.IdName("", "any")), DEFAULT_UMASK);
        }
        List<PolicyDocument.IdName> groups = new ArrayList<>();
        groups.add(idName(groupPart));
        for (int gid : new java.util.TreeSet<>(supplementalGroups)) {
            PolicyDocument.IdName g = new PolicyDocument.IdName(Integer.toString(gid), "id");
            if (!groups.contains(g)) groups.add(g);
        }
        return new PolicyDocument.User(userRule, groups, DEFAULT_UMASK);
    }

    private static PolicyDocument.IdName idName(String s) {
        return s.chars().allMatch(Character::isDigit) ? new PolicyDocument.IdName(s, "id") : new PolicyDocument.IdName(s, "name");
    }
}
