package dev.coffer.policy.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.policy.enforce.ContentVolumeKind;
import dev.coffer.policy.enforce.FileDigest;
import dev.coffer.policy.gen.DefaultCapabilities;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.ImageAccounts;
import dev.coffer.policy.gen.ImageSource;
import dev.coffer.policy.gen.PolicyDocument;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.RegoPolicyWriter;
import dev.coffer.policy.model.ContainerPolicyInput;
import dev.coffer.policy.model.EnvVarInput;
import dev.coffer.policy.model.ExecProcessInput;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.model.LaunchSettings;
import dev.coffer.policy.model.LimitsInput;
import dev.coffer.policy.model.MountInput;
import dev.coffer.policy.model.SecurityInput;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The policy for one Kubernetes pod template: the pause container, then the init containers and
 * containers in spec order, each with its image's layers (from the {@link ImageSource}), argv,
 * env, mounts, user, capabilities and what may be exec'd (exec probes and hooks), written by the
 * same {@link PolicyGenerator} and {@link RegoPolicyWriter} as group specs, so the same pod gives
 * the same bytes.
 *
 * <p>Values only the cluster knows at run time are matched by pattern, as Kata's genpolicy does:
 * env from {@code fieldRef} (pod IP, node name, pod uid, ...), {@code resourceFieldRef} and
 * {@code secretKeyRef} (a secret's value never goes into a policy, which travels in an
 * annotation anyone can read), and {@code configMapKeyRef} unless the ConfigMap is in the same
 * file (then pinned). The variables Kubernetes adds to every container (service links, HOSTNAME)
 * are allowed by pattern and never required.
 *
 * <p>Whatever the policy cannot pin is refused with the field's path, never skipped: host
 * namespaces, hostPath and other node or network volumes, host ports, privileged containers
 * (unless {@link Options#allowPrivileged()}), fields this generator does not know.
 */
public final class PodPolicyGenerator {
    /** containerd 1.6's default {@code sandbox_image}: the pause container every pod starts with. */
    public static final String DEFAULT_PAUSE_IMAGE = "registry.k8s.io/pause:3.6";
    /** The pause container's name in the policy: not a DNS label, so no container of the pod can have it. */
    public static final String PAUSE_CONTAINER = "pause.sandbox";
    /** Where the kubelet mounts the service account token when the pod does not opt out. */
    public static final String SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
    /** The name the API server gives the service account token's projected volume (a pattern). */
    static final String SERVICE_ACCOUNT_VOLUME = "kube-api-access-[a-z0-9]{5}";

    static final String IP = "[0-9a-fA-F.:]{2,45}";
    static final String DNS_NAME = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?){0,20}";
    static final String UID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    static final String ANY = "(?s).*";

    /** The env Kubernetes and containerd add to every container: allowed by pattern, never required. */
    static final List<PolicyDocument.EnvRule> CLUSTER_ENV = List.of(
            new PolicyDocument.EnvRule("HOSTNAME=" + DNS_NAME, "re2", false),
            new PolicyDocument.EnvRule("[A-Z][A-Z0-9_]{0,250}_SERVICE_HOST=" + IP, "re2", false),
            new PolicyDocument.EnvRule("[A-Z][A-Z0-9_]{0,250}_SERVICE_PORT(_[A-Z0-9_]{1,63})?=[0-9]{1,5}", "re2", false),
            new PolicyDocument.EnvRule("[A-Z][A-Z0-9_]{0,250}_PORT=(tcp|udp|sctp)://" + IP + ":[0-9]{1,5}", "re2", false),
            new PolicyDocument.EnvRule("[A-Z][A-Z0-9_]{0,250}_PORT_[0-9]{1,5}_(TCP|UDP|SCTP)=(tcp|udp|sctp)://" + IP + ":[0-9]{1,5}", "re2", false),
            new PolicyDocument.EnvRule("[A-Z][A-Z0-9_]{0,250}_PORT_[0-9]{1,5}_(TCP|UDP|SCTP)_PROTO=(tcp|udp|sctp)", "re2", false),
            new PolicyDocument.EnvRule("[A-Z][A-Z0-9_]{0,250}_PORT_[0-9]{1,5}_(TCP|UDP|SCTP)_PORT=[0-9]{1,5}", "re2", false),
            new PolicyDocument.EnvRule("[A-Z][A-Z0-9_]{0,250}_PORT_[0-9]{1,5}_(TCP|UDP|SCTP)_ADDR=" + IP, "re2", false));

    /** Pod spec fields that only schedule, name or time the pod: nothing inside the sandbox depends on them. */
    static final Set<String> POD_FIELDS_OUTSIDE_SANDBOX = Set.of("restartPolicy", "terminationGracePeriodSeconds",
            "activeDeadlineSeconds", "dnsPolicy", "dnsConfig", "nodeSelector", "serviceAccountName", "serviceAccount",
            "nodeName", "affinity", "schedulerName", "tolerations", "priorityClassName", "priority", "runtimeClassName",
            "preemptionPolicy", "overhead", "topologySpreadConstraints", "hostname", "subdomain", "imagePullSecrets",
            "readinessGates", "setHostnameAsFQDN", "os", "schedulingGates", "hostAliases", "hostUsers");
    /** Pod spec fields this generator reads. */
    static final Set<String> POD_FIELDS_READ = Set.of("containers", "initContainers", "volumes", "securityContext",
            "automountServiceAccountToken", "enableServiceLinks", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace");
    /** Pod spec fields that would put the pod in the host's namespaces or share what the policy isolates. */
    static final List<String> POD_HOST_NAMESPACES = List.of("hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace");

    static final Set<String> CONTAINER_FIELDS = Set.of("name", "image", "command", "args", "workingDir", "env", "envFrom",
            "ports", "volumeMounts", "securityContext", "resources", "livenessProbe", "readinessProbe", "startupProbe",
            "lifecycle", "imagePullPolicy", "terminationMessagePath", "terminationMessagePolicy", "stdin", "stdinOnce", "tty",
            "restartPolicy", "resizePolicy");
    static final Set<String> SECURITY_CONTEXT_FIELDS = Set.of("runAsUser", "runAsGroup", "runAsNonRoot", "privileged",
            "capabilities", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "seccompProfile");
    /** Pod securityContext fields the policy pins (users and groups) or checks (seccompProfile). */
    static final Set<String> POD_SECURITY_CONTEXT_FIELDS = Set.of("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile",
            "fsGroup", "supplementalGroups");
    private static final JsonNode MISSING = com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    /** Volume sources whose files the kubelet writes and the container sees read-only (declared by ContentVolumeKind). */
    static final Set<String> READ_ONLY_VOLUME_SOURCES = java.util.Arrays.stream(ContentVolumeKind.values())
            .map(ContentVolumeKind::podSpecField).collect(java.util.stream.Collectors.toUnmodifiableSet());

    /**
     * @param allowPrivileged accept {@code privileged: true} (every capability, writable /sys): the pod can then escape
     *                        its container inside the sandbox; without it such a pod is refused
     * @param pauseImage      the sandbox image (containerd's {@code sandbox_image}), resolved in the image store
     */
    /**
     * {@code allowUnencryptedScratch}: the pod's writable layers and emptyDirs may be plain files on a
     * host without device-mapper (see GroupSpec.Scratch); off by default, so such a pod is refused there.
     * {@code objectFiles}: files of ConfigMaps and Secrets besides the manifest's own (genpolicy's
     * {@code -c}), whose content env entries and volumes use as if they were in the manifest.
     * {@code pinSecrets}: Secret volumes' files pinned by SHA-256 too (off by default: the digests
     * would be readable with the pod's annotation). {@code allowStdin}: the host may write into the stdin of the pod's exec processes ({@code kubectl
     * exec -i}); off by default, as Kata's genpolicy refuses WriteStreamRequest (see GroupSpec.Stdin).
     */
    public record Options(boolean debugMode, boolean allowPrivileged, String pauseImage, boolean allowUnencryptedScratch,
                          List<KubernetesManifest> objectFiles, boolean pinSecrets, boolean allowStdin) {
        public static final Options DEFAULT = new Options(false, false, DEFAULT_PAUSE_IMAGE, false);

        public Options {
            pauseImage = pauseImage == null || pauseImage.isBlank() ? DEFAULT_PAUSE_IMAGE : pauseImage;
            objectFiles = List.copyOf(objectFiles);
        }

        public Options(boolean debugMode, boolean allowPrivileged, String pauseImage, boolean allowUnencryptedScratch,
                       List<KubernetesManifest> objectFiles) {
            this(debugMode, allowPrivileged, pauseImage, allowUnencryptedScratch, objectFiles, false, false);
        }

        public Options(boolean debugMode, boolean allowPrivileged, String pauseImage, boolean allowUnencryptedScratch) {
            this(debugMode, allowPrivileged, pauseImage, allowUnencryptedScratch, List.of(), false, false);
        }
    }

    /** A generated pod policy and what the user should know about it (host-side settings the policy does not pin). */
    public record Result(Workload workload, GeneratedPolicy policy, List<String> warnings) {
        public Result {
            warnings = List.copyOf(warnings);
        }
    }

    private final ImageSource images;

    public PodPolicyGenerator(ImageSource images) {
        this.images = images;
    }

    /**
     * The policy for {@code workload} of {@code manifest}.
     *
     * @throws ManifestException when the pod asks for something the policy cannot pin
     * @throws IOException       when an image cannot be resolved or hashed
     */
    public Result generate(KubernetesManifest manifest, Workload workload, Options options) throws ManifestException, IOException {
        Reader r = new Reader(manifest, workload, options);
        GroupPolicyInput group = r.group();
        if (options.allowUnencryptedScratch()) group = group.allowingUnencryptedScratch();
        if (options.allowStdin()) group = group.allowingStdin();
        PolicyDocument doc = new PolicyGenerator(images).document(group, options.debugMode());
        Map<String, String> imageOf = new LinkedHashMap<>();
        for (var c : group.containers()) imageOf.put(c.name(), c.image());
        Map<String, ImageAccounts> accounts = new LinkedHashMap<>();
        List<PolicyDocument.Container> containers = new ArrayList<>();
        for (PolicyDocument.Container c : doc.containers()) {
            containers.add(withImageGroups(r.finish(c), imageOf.get(c.name()), accounts));
        }
        PolicyDocument out = new PolicyDocument(doc.apiVersion(), doc.frameworkVersion(), doc.debugMode(), containers,
                doc.externalProcesses(), doc.flags(), doc.encryptedVolumes(), doc.launch(), doc.keyChannelPins());
        return new Result(workload, GeneratedPolicy.of(RegoPolicyWriter.write(out)), r.warnings);
    }

    /**
     * {@code c} with the groups containerd's CRI adds from the image allowed too: a container
     * whose groups the policy pins (runAsGroup, or a user:group) also gets every group the image's
     * /etc/group lists its user in (by the name /etc/passwd gives its uid), and the policy, which
     * allows each of the process's groups only if it lists it, would refuse the pod otherwise. A
     * container whose groups are not pinned ("any") needs nothing, and neither does a uid the
     * image's /etc/passwd does not name. {@code cache} holds each image's accounts, read once.
     */
    private PolicyDocument.Container withImageGroups(PolicyDocument.Container c, String image, Map<String, ImageAccounts> cache)
            throws IOException {
        PolicyDocument.User user = c.user();
        if (image == null || user.groupIdNames().stream().anyMatch(g -> g.strategy().equals("any"))) return c;
        ImageAccounts accounts = cache.get(image);
        if (accounts == null) {
            accounts = images.accounts(image);
            cache.put(image, accounts);
        }
        PolicyDocument.IdName who = user.userIdName();
        // containerd looks a numeric user's name up in /etc/passwd and takes a name as it is
        String name = who.pattern();
        if (who.strategy().equals("id")) {
            long uid = who.pattern().length() <= 10 ? Long.parseLong(who.pattern()) : -1;
            name = uid < 0 || uid > Integer.MAX_VALUE ? null : accounts.user((int) uid).map(ImageAccounts.User::name).orElse(null);
        }
        if (name == null) return c;
        List<PolicyDocument.IdName> groups = new ArrayList<>(user.groupIdNames());
        for (int gid : accounts.memberGids(name)) {
            PolicyDocument.IdName g = new PolicyDocument.IdName(Integer.toString(gid), "id");
            if (!groups.contains(g)) groups.add(g);
        }
        if (groups.size() == user.groupIdNames().size()) return c;
        return new PolicyDocument.Container(c.id(), c.name(), c.layers(), c.command(), c.envRules(), c.workingDir(), c.mounts(),
                c.execProcesses(), c.signals(), new PolicyDocument.User(who, groups, user.umask()), c.capabilities(),
                c.seccompProfileSha256(), c.allowElevated(), c.allowStdioAccess(), c.noNewPrivileges(), c.limits());
    }

    /** What one container adds after the shared generator ran: its own capability sets and env rule details. */
    private record Extra(PolicyDocument.Capabilities capabilities, Set<String> optionalEnv, boolean serviceAccountMount) {}

    /** Reads one pod template; every refusal names the field. */
    private static final class Reader {
        final KubernetesManifest manifest;
        final Workload workload;
        final Options options;
        final String where;
        final List<String> warnings = new ArrayList<>();
        final Map<String, Extra> extras = new LinkedHashMap<>();
        final Map<String, String> volumeSources = new LinkedHashMap<>();
        /** The volumes whose files the host supplies, with their pinned files where this file gives them. */
        final Map<String, MountInput.Content> contents = new LinkedHashMap<>();
        /** fsGroup and supplementalGroups of the pod, in the kubelet's order. */
        List<Integer> podGroups = List.of();

        Reader(KubernetesManifest manifest, Workload workload, Options options) {
            this.manifest = manifest;
            this.workload = workload;
            this.options = options;
            this.where = manifest.source() + " " + workload.id();
        }

        GroupPolicyInput group() throws ManifestException {
            JsonNode spec = workload.podSpec();
            for (Iterator<String> it = spec.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!POD_FIELDS_READ.contains(f) && !POD_FIELDS_OUTSIDE_SANDBOX.contains(f)) {
                    throw fail("spec." + f, "is not supported by Coffer policies; remove it (a field the policy does not "
                            + "know could change what runs in the sandbox)");
                }
            }
            for (String f : POD_HOST_NAMESPACES) {
                if (spec.path(f).asBoolean(false)) {
                    throw fail("spec." + f, "is true: the pod would share the host's (or its containers') namespaces, which a "
                            + "confidential sandbox cannot; remove it");
                }
            }
            JsonNode podSec = spec.path("securityContext");
            checkFields(podSec, "spec.securityContext", POD_SECURITY_CONTEXT_FIELDS,
                    "is not pinned by Coffer policies; remove it or set it per container where supported");
            podGroups = podGroups(podSec);
            List<String> volumeNames = volumes(spec.path("volumes"));
            boolean serviceAccount = spec.path("automountServiceAccountToken").asBoolean(true);
            if (serviceAccount) {
                warnings.add(workload.id() + ": the service account token is mounted read-only at " + SERVICE_ACCOUNT_PATH
                        + " (the host supplies it); set automountServiceAccountToken: false if the pod does not call the API server");
            }
            List<ContainerPolicyInput> containers = new ArrayList<>();
            containers.add(pause(podSec));
            extras.put(PAUSE_CONTAINER, new Extra(null, Set.of(), false));
            Set<String> names = new TreeSet<>();
            Set<Integer> ports = new LinkedHashSet<>();
            for (String list : List.of("initContainers", "containers")) {
                JsonNode arr = spec.path(list);
                if (arr.isMissingNode() || arr.isNull()) continue;
                if (!arr.isArray()) throw fail("spec." + list, "expected a list, found " + type(arr));
                for (int i = 0; i < arr.size(); i++) {
                    String path = "spec." + list + "[" + i + "]";
                    ContainerPolicyInput c = container(arr.get(i), path, podSec, volumeNames, serviceAccount, ports);
                    if (!names.add(c.name())) throw fail(path + ".name", "'" + c.name() + "' is used twice; container names must be unique");
                    containers.add(c);
                }
            }
            if (spec.path("containers").size() == 0) throw fail("spec.containers", "expected at least one container, found none");
            try {
                return new GroupPolicyInput(workload.id(), containers, volumeNames, List.of(),
                        new LaunchSettings(List.copyOf(ports), null, List.of()));
            } catch (IllegalArgumentException e) {
                throw new ManifestException(where + ": " + e.getMessage());
            }
        }

        /**
         * The pause container as containerd's CRI starts it: the pod-level runAsUser/runAsGroup (else the pause
         * image's user). The kubelet passes the pod's groups to the sandbox too; containerd 1.6 gives the
         * sandbox only its primary group (CriPodTest sees it), later releases may add the pod's groups: the
         * policy allows those, which the pause container (pinned to its sleep) cannot use for anything.
         */
        private ContainerPolicyInput pause(JsonNode podSec) throws ManifestException {
            String user = user(MISSING, podSec, "spec");
            return new ContainerPolicyInput(PAUSE_CONTAINER, options.pauseImage(), null, null, List.of(), null, user,
                    podGroups, List.of(), List.of(), List.of(), null);
        }

        /**
         * The supplementary groups the kubelet gives every container of the pod (its CRI request's
         * supplemental_groups): the pod's fsGroup and its supplementalGroups. containerd's CRI adds them to
         * the process's additionalGids, with its primary group and the groups the image's /etc/group lists
         * the user in.
         */
        private List<Integer> podGroups(JsonNode podSec) throws ManifestException {
            List<Integer> groups = new ArrayList<>();
            JsonNode fsGroup = podSec.path("fsGroup");
            if (!fsGroup.isMissingNode() && !fsGroup.isNull()) groups.add(groupId(fsGroup, "spec.securityContext.fsGroup"));
            JsonNode supplemental = podSec.path("supplementalGroups");
            if (!supplemental.isMissingNode() && !supplemental.isNull()) {
                if (!supplemental.isArray()) {
                    throw fail("spec.securityContext.supplementalGroups", "expected a list of group ids, found " + type(supplemental));
                }
                for (int i = 0; i < supplemental.size(); i++) {
                    int gid = groupId(supplemental.get(i), "spec.securityContext.supplementalGroups[" + i + "]");
                    if (!groups.contains(gid)) groups.add(gid);
                }
            }
            return List.copyOf(groups);
        }

        private int groupId(JsonNode n, String path) throws ManifestException {
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
                throw fail(path, "expected a group id 0.." + Integer.MAX_VALUE + ", found " + type(n) + " " + n);
            }
            return n.asInt();
        }

        private List<String> volumes(JsonNode vols) throws ManifestException {
            List<String> names = new ArrayList<>();
            if (vols.isMissingNode() || vols.isNull()) return names;
            if (!vols.isArray()) throw fail("spec.volumes", "expected a list, found " + type(vols));
            for (int i = 0; i < vols.size(); i++) {
                JsonNode v = vols.get(i);
                String path = "spec.volumes[" + i + "]";
                String name = text(v, "name", path);
                List<String> sources = new ArrayList<>();
                v.fieldNames().forEachRemaining(f -> {
                    if (!f.equals("name")) sources.add(f);
                });
                if (sources.size() != 1) {
                    throw fail(path, "expected exactly one volume source (emptyDir, configMap, secret, projected, downwardAPI), found "
                            + sources);
                }
                String source = sources.getFirst();
                if (!source.equals("emptyDir") && !READ_ONLY_VOLUME_SOURCES.contains(source)) {
                    throw fail(path + "." + source, "is not supported: only emptyDir (in the sandbox) and configMap, secret, "
                            + "projected and downwardAPI (read-only) can be pinned; a " + source + " volume is storage the host "
                            + "controls. Use an encrypted volume (see `coffer volume`) for data");
                }
                if (names.contains(name)) throw fail(path + ".name", "'" + name + "' is used twice");
                names.add(name);
                volumeSources.put(name, source);
                ContentVolumeKind kind = ContentVolumeKind.ofPodSpecField(source);
                if (kind != null) contents.put(name, content(kind, name, v.path(source), path + "." + source));
            }
            return names;
        }

        private ContainerPolicyInput container(JsonNode c, String path, JsonNode podSec, List<String> volumeNames,
                                               boolean serviceAccount, Set<Integer> ports) throws ManifestException {
            if (!c.isObject()) throw fail(path, "expected a container object, found " + type(c));
            checkFields(c, path, CONTAINER_FIELDS, "is not supported by Coffer policies; remove it");
            String name = text(c, "name", path);
            String image = text(c, "image", path);
            List<String> command = strings(c, "command", path);
            List<String> args = strings(c, "args", path);
            String workingDir = c.has("workingDir") ? text(c, "workingDir", path) : null;

            JsonNode sec = c.path("securityContext");
            checkFields(sec, path + ".securityContext", SECURITY_CONTEXT_FIELDS, "is not pinned by Coffer policies; remove it");
            boolean privileged = sec.path("privileged").asBoolean(false);
            if (privileged && !options.allowPrivileged()) {
                throw fail(path + ".securityContext.privileged", "is true: a privileged container has every capability and "
                        + "the sandbox's devices; pass --allow-privileged if that is really meant");
            }
            String user = user(sec, podSec, path);
            boolean noNewPrivileges = sec.has("allowPrivilegeEscalation") && !sec.path("allowPrivilegeEscalation").asBoolean(true);
            seccomp(sec.has("seccompProfile") ? sec.path("seccompProfile") : podSec.path("seccompProfile"), path);
            if (sec.path("readOnlyRootFilesystem").asBoolean(false)) {
                warnings.add(name + ": readOnlyRootFilesystem is applied by the host; the policy does not pin the root filesystem's mode");
            }
            PolicyDocument.Capabilities caps = capabilities(sec.path("capabilities"), privileged, path);

            Set<String> optional = new TreeSet<>();
            List<EnvVarInput> env = env(c, path, optional);
            List<MountInput> mounts = new ArrayList<>();
            JsonNode vms = c.path("volumeMounts");
            for (int i = 0; i < vms.size(); i++) {
                JsonNode m = vms.get(i);
                String mp = path + ".volumeMounts[" + i + "]";
                checkFields(m, mp, Set.of("name", "mountPath", "readOnly"), "is not supported (subPath, propagation and "
                        + "recursiveReadOnly change what the host mounts); remove it");
                String vol = text(m, "name", mp);
                if (!volumeNames.contains(vol)) throw fail(mp + ".name", "'" + vol + "' is not among spec.volumes " + volumeNames);
                String mountPath = text(m, "mountPath", mp);
                if (!mountPath.startsWith("/")) throw fail(mp + ".mountPath", "expected an absolute path, found '" + mountPath + "'");
                boolean readOnly = m.path("readOnly").asBoolean(false) || READ_ONLY_VOLUME_SOURCES.contains(volumeSources.get(vol));
                mounts.add(new MountInput(vol, mountPath, readOnly, contents.get(vol)));
            }
            JsonNode ps = c.path("ports");
            for (int i = 0; i < ps.size(); i++) {
                JsonNode p = ps.get(i);
                String pp = path + ".ports[" + i + "]";
                if (p.has("hostPort") || p.has("hostIP")) {
                    throw fail(pp + (p.has("hostPort") ? ".hostPort" : ".hostIP"), "binds a port on the node itself; "
                            + "expose the pod with a Service instead");
                }
                if (!p.path("containerPort").canConvertToInt()) throw fail(pp + ".containerPort", "expected a port number, found " + p.path("containerPort"));
                if (p.path("protocol").asText("TCP").equals("TCP")) ports.add(p.path("containerPort").asInt());
            }
            List<ExecProcessInput> execs = new ArrayList<>();
            for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                List<String> cmd = strings(c.path(probe).path("exec"), "command", path + "." + probe + ".exec");
                if (cmd != null && !cmd.isEmpty() && execs.stream().noneMatch(x -> x.command().equals(cmd))) {
                    execs.add(new ExecProcessInput(cmd, List.of()));
                }
            }
            for (String hook : List.of("postStart", "preStop")) {
                List<String> cmd = strings(c.path("lifecycle").path(hook).path("exec"), "command", path + ".lifecycle." + hook + ".exec");
                if (cmd != null && !cmd.isEmpty() && execs.stream().noneMatch(x -> x.command().equals(cmd))) {
                    execs.add(new ExecProcessInput(cmd, List.of()));
                }
            }
            long memory = memoryLimit(c.path("resources"), path);
            extras.put(name, new Extra(caps, optional, serviceAccount));
            try {
                return new ContainerPolicyInput(name, image, command, args, env, workingDir, user, podGroups, mounts, execs, List.of(),
                        new SecurityInput(privileged, true, noNewPrivileges, "", new LimitsInput(memory, 0)));
            } catch (IllegalArgumentException e) {
                throw new ManifestException(where + " " + path + ": " + e.getMessage());
            }
        }

        /** runAsUser/runAsGroup (container first, then pod) as the generator's "uid[:gid]"; null keeps the image's user. */
        private String user(JsonNode sec, JsonNode podSec, String path) throws ManifestException {
            JsonNode uid = sec.has("runAsUser") ? sec.path("runAsUser") : podSec.path("runAsUser");
            JsonNode gid = sec.has("runAsGroup") ? sec.path("runAsGroup") : podSec.path("runAsGroup");
            boolean nonRoot = sec.has("runAsNonRoot") ? sec.path("runAsNonRoot").asBoolean(false) : podSec.path("runAsNonRoot").asBoolean(false);
            for (JsonNode n : List.of(uid, gid)) {
                if (!n.isMissingNode() && !n.isNull() && !(n.canConvertToLong() && n.isIntegralNumber() && n.asLong() >= 0)) {
                    throw fail(path + ".securityContext", "expected runAsUser/runAsGroup as non-negative integers, found " + n);
                }
            }
            if (uid.isMissingNode() || uid.isNull()) {
                if (nonRoot) {
                    throw fail(path + ".securityContext.runAsNonRoot", "is true but no runAsUser is set: the policy can only pin a "
                            + "non-root user it knows; set runAsUser to the uid the image runs as");
                }
                if (!gid.isMissingNode() && !gid.isNull()) {
                    throw fail(path + ".securityContext.runAsGroup", "is set without runAsUser; set runAsUser too so the policy pins both");
                }
                return null;
            }
            if (nonRoot && uid.asLong() == 0) throw fail(path + ".securityContext.runAsUser", "is 0 while runAsNonRoot is true");
            for (JsonNode n : List.of(uid, gid)) {
                if (!n.isMissingNode() && !n.isNull() && !n.canConvertToInt()) {
                    throw fail(path + ".securityContext", "expected runAsUser/runAsGroup at most " + Integer.MAX_VALUE + " (as Kubernetes"
                            + " validates them), found " + n);
                }
            }
            if (gid.isMissingNode() || gid.isNull()) {
                warnings.add(path + ": runAsUser " + uid.asText() + " without runAsGroup: the primary group comes from the image's"
                        + " /etc/passwd, which the policy does not read, so it allows any group"
                        + (podGroups.isEmpty() ? "" : " (fsGroup and supplementalGroups are not pinned either)")
                        + "; set runAsGroup to pin the process's groups");
                return uid.asText();
            }
            return uid.asText() + ":" + gid.asText();
        }

        private void seccomp(JsonNode profile, String path) throws ManifestException {
            if (profile.isMissingNode() || profile.isNull()) return;
            String type = profile.path("type").asText("");
            if (!type.equals("RuntimeDefault")) {
                throw fail(path + ".securityContext.seccompProfile.type", "is '" + type + "': only RuntimeDefault is supported "
                        + "(Unconfined weakens the container, a Localhost profile's content is not known here)");
            }
        }

        /** The default capability set (or every one, privileged), with the container's add and drop applied. */
        private PolicyDocument.Capabilities capabilities(JsonNode caps, boolean privileged, String path) throws ManifestException {
            if (caps.isMissingNode() || caps.isNull()) return null;
            checkFields(caps, path + ".securityContext.capabilities", Set.of("add", "drop"), "is not a capabilities field");
            List<String> set = new ArrayList<>(DefaultCapabilities.forContainer(privileged).bounding());
            List<String> drop = strings(caps, "drop", path + ".securityContext.capabilities");
            List<String> add = strings(caps, "add", path + ".securityContext.capabilities");
            for (String d : drop == null ? List.<String>of() : drop) {
                if (d.equalsIgnoreCase("ALL")) set.clear();
                else set.remove(capability(d, path + ".securityContext.capabilities.drop"));
            }
            for (String a : add == null ? List.<String>of() : add) {
                if (a.equalsIgnoreCase("ALL")) {
                    throw fail(path + ".securityContext.capabilities.add", "adds ALL; list the capabilities the container needs");
                }
                String cap = capability(a, path + ".securityContext.capabilities.add");
                if (!set.contains(cap)) set.add(cap);
            }
            return new PolicyDocument.Capabilities(set, set, List.of(), set, List.of());
        }

        private String capability(String name, String path) throws ManifestException {
            String cap = name.startsWith("CAP_") ? name : "CAP_" + name;
            if (!DefaultCapabilities.PRIVILEGED.contains(cap)) {
                throw fail(path, "'" + name + "' is not a Linux capability; expected one of " + DefaultCapabilities.PRIVILEGED);
            }
            return cap;
        }

        private List<EnvVarInput> env(JsonNode c, String path, Set<String> optional) throws ManifestException {
            Map<String, EnvVarInput> env = new LinkedHashMap<>();
            JsonNode from = c.path("envFrom");
            for (int i = 0; i < from.size(); i++) {
                JsonNode f = from.get(i);
                String fp = path + ".envFrom[" + i + "]";
                String prefix = f.path("prefix").asText("");
                boolean secret = f.has("secretRef");
                JsonNode ref = secret ? f.path("secretRef") : f.path("configMapRef");
                String refName = text(ref, "name", fp + (secret ? ".secretRef" : ".configMapRef"));
                JsonNode obj = object(secret ? "Secret" : "ConfigMap", refName);
                if (obj == null) {
                    throw fail(fp, "names " + (secret ? "Secret" : "ConfigMap") + " '" + refName + "', which is not in this file: the "
                            + "policy cannot know which variables it defines; add it to the file (its keys are pinned"
                            + (secret ? ", never its values" : "") + ") or use env entries");
                }
                Map<String, String> values = values(obj, secret);
                for (Map.Entry<String, String> e : values.entrySet()) {
                    String n = prefix + e.getKey();
                    env.put(n, secret ? EnvVarInput.pattern(n, ANY) : EnvVarInput.exact(n, e.getValue()));
                }
            }
            JsonNode arr = c.path("env");
            for (int i = 0; i < arr.size(); i++) {
                JsonNode e = arr.get(i);
                String ep = path + ".env[" + i + "]";
                String n = text(e, "name", ep);
                EnvVarInput v;
                if (e.has("valueFrom")) {
                    if (e.has("value")) throw fail(ep, "has both value and valueFrom; keep one");
                    v = valueFrom(n, e.path("valueFrom"), ep + ".valueFrom", optional);
                } else {
                    JsonNode value = e.path("value");
                    if (!value.isMissingNode() && !value.isNull() && !value.isTextual()) {
                        throw fail(ep + ".value", "expected a string, found " + type(value) + " " + value + "; quote it");
                    }
                    v = EnvVarInput.exact(n, value.asText(""));
                }
                env.remove(n); // a later entry wins, as in the kubelet
                env.put(n, v);
            }
            return List.copyOf(env.values());
        }

        /** A {@code valueFrom} as a pinned value or the pattern of what the cluster fills in. */
        private EnvVarInput valueFrom(String name, JsonNode vf, String path, Set<String> optional) throws ManifestException {
            if (vf.has("fieldRef")) {
                String field = text(vf.path("fieldRef"), "fieldPath", path + ".fieldRef");
                JsonNode meta = workload.template().path("metadata");
                return switch (field) {
                    case "metadata.name" -> workload.kind() == WorkloadKind.POD ? EnvVarInput.exact(name, workload.name())
                            : EnvVarInput.pattern(name, DNS_NAME);
                    case "metadata.namespace" -> workload.namespace().isEmpty() ? EnvVarInput.pattern(name, DNS_NAME)
                            : EnvVarInput.exact(name, workload.namespace());
                    case "metadata.uid" -> EnvVarInput.pattern(name, UID);
                    case "spec.nodeName" -> EnvVarInput.pattern(name, DNS_NAME);
                    case "spec.serviceAccountName" -> EnvVarInput.exact(name, workload.podSpec().path("serviceAccountName").asText("default"));
                    case "status.hostIP", "status.podIP" -> EnvVarInput.pattern(name, IP);
                    case "status.hostIPs", "status.podIPs" -> EnvVarInput.pattern(name, IP + "(," + IP + ")?");
                    default -> {
                        java.util.regex.Matcher m = java.util.regex.Pattern.compile("metadata\\.(labels|annotations)\\['([^']+)'\\]").matcher(field);
                        if (m.matches() && m.group(1).equals("labels") && meta.path("labels").path(m.group(2)).isTextual()) {
                            yield EnvVarInput.exact(name, meta.path("labels").path(m.group(2)).asText());
                        }
                        if (m.matches()) {
                            yield EnvVarInput.pattern(name, ANY);
                        }
                        throw fail(path + ".fieldRef.fieldPath", "'" + field + "' is not a field Kubernetes exposes to env");
                    }
                };
            }
            if (vf.has("resourceFieldRef")) {
                text(vf.path("resourceFieldRef"), "resource", path + ".resourceFieldRef");
                return EnvVarInput.pattern(name, "[0-9]{1,20}");
            }
            if (vf.has("secretKeyRef") || vf.has("configMapKeyRef")) {
                boolean secret = vf.has("secretKeyRef");
                JsonNode ref = vf.path(secret ? "secretKeyRef" : "configMapKeyRef");
                String rp = path + (secret ? ".secretKeyRef" : ".configMapKeyRef");
                String refName = text(ref, "name", rp);
                String key = text(ref, "key", rp);
                if (ref.path("optional").asBoolean(false)) optional.add(name);
                if (secret) return EnvVarInput.pattern(name, ANY); // a secret's value never goes into a policy
                JsonNode cm = object("ConfigMap", refName);
                if (cm != null) {
                    String value = values(cm, false).get(key);
                    if (value == null) {
                        throw fail(rp + ".key", "'" + key + "' is not in ConfigMap '" + refName + "' of this file");
                    }
                    return EnvVarInput.exact(name, value);
                }
                return EnvVarInput.pattern(name, ANY);
            }
            throw fail(path, "expected one of fieldRef, resourceFieldRef, secretKeyRef, configMapKeyRef");
        }

        /**
         * The content of volume {@code name} of {@code kind} ({@code src} its source object): pinned
         * where every file comes from a ConfigMap or Secret of this file (or the object files), else
         * unpinned with one warning line saying why. A Secret's files are pinned by digest only.
         */
        private MountInput.Content content(ContentVolumeKind kind, String name, JsonNode src, String path) throws ManifestException {
            List<FileDigest> files = new ArrayList<>();
            String unknown = switch (kind) {
                case CONFIG_MAP -> objectFiles(false, src, path, files);
                case SECRET -> objectFiles(true, src, path, files);
                case DOWNWARD_API -> "the kubelet writes the pod's fields (labels, annotations, resources) into it";
                case PROJECTED -> {
                    JsonNode sources = src.path("sources");
                    String why = null;
                    for (int i = 0; i < sources.size() && why == null; i++) {
                        JsonNode one = sources.get(i);
                        String sp = path + ".sources[" + i + "]";
                        if (one.has("configMap")) why = objectFiles(false, one.path("configMap"), sp + ".configMap", files);
                        else if (one.has("secret")) why = objectFiles(true, one.path("secret"), sp + ".secret", files);
                        else why = "its source " + one.fieldNames().next() + " is made by the kubelet or the API server";
                    }
                    yield why;
                }
            };
            boolean fromSecret = kind == ContentVolumeKind.SECRET;
            for (JsonNode one : src.path("sources")) fromSecret |= one.has("secret");
            if (unknown == null && fromSecret && !options.pinSecrets()) {
                // a digest of a guessable secret gives it away, and the policy travels in the pod's
                // annotation, which more people read than the Secret: as with env values from
                // Secrets, nothing of a Secret goes into a policy unless its author says so
                unknown = "its files come from a Secret, whose SHA-256 in the policy would let anyone who reads the pod's"
                        + " annotation test guesses of it (pass --pin-secrets to pin them anyway)";
            }
            if (unknown != null) {
                warnings.add(workload.id() + ": volume " + name + " (" + kind.podSpecField() + ") is not pinned: " + unknown
                        + "; the host supplies its files and the policy allows any content");
                return new MountInput.Content(kind, null);
            }
            if (fromSecret) {
                warnings.add(workload.id() + ": volume " + name + " pins its Secret files by SHA-256 in the policy, which anyone who"
                        + " can read the pod's annotation can read: a guessable secret (a short password) can be found from it");
            }
            try {
                return new MountInput.Content(kind, files);
            } catch (IllegalArgumentException e) {
                throw fail(path, e.getMessage());
            }
        }

        /**
         * Adds to {@code files} the files a ConfigMap or Secret source makes ({@code items}, else
         * every key), or answers why it cannot: the object is not in this file.
         */
        private String objectFiles(boolean secret, JsonNode src, String path, List<FileDigest> files) throws ManifestException {
            String kind = secret ? "Secret" : "ConfigMap";
            String objName = text(src, secret && src.has("secretName") ? "secretName" : "name", path);
            JsonNode obj = object(kind, objName);
            if (obj == null) {
                return kind + " '" + objName + "' is not in this file (add it, or pass --" + (secret ? "secret" : "config-map")
                        + " FILE)";
            }
            Map<String, byte[]> data = content(obj, secret, path);
            JsonNode items = src.path("items");
            Map<String, byte[]> chosen = new java.util.TreeMap<>();
            if (items.isMissingNode() || items.isNull()) {
                chosen.putAll(data);
            } else {
                for (int i = 0; i < items.size(); i++) {
                    String ip = path + ".items[" + i + "]";
                    String key = text(items.get(i), "key", ip);
                    byte[] value = data.get(key);
                    if (value == null) throw fail(ip + ".key", "'" + key + "' is not in " + kind + " '" + objName + "' of this file");
                    chosen.put(text(items.get(i), "path", ip), value);
                }
            }
            for (Map.Entry<String, byte[]> e : chosen.entrySet()) {
                String problem = FileDigest.pathProblem(e.getKey());
                if (problem != null) throw fail(path, problem);
                files.add(new FileDigest(e.getKey(), sha256(e.getValue())));
            }
            return null;
        }

        /** A ConfigMap's data and binaryData, or a Secret's data (base64) and stringData, by key: what the kubelet writes. */
        private Map<String, byte[]> content(JsonNode obj, boolean secret, String path) throws ManifestException {
            Map<String, byte[]> out = new java.util.TreeMap<>();
            String what = (secret ? "Secret '" : "ConfigMap '") + obj.path("metadata").path("name").asText() + "'";
            for (String field : secret ? List.of("data", "stringData") : List.of("data", "binaryData")) {
                boolean base64 = field.equals("binaryData") || (secret && field.equals("data"));
                for (Iterator<Map.Entry<String, JsonNode>> it = obj.path(field).fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String value = e.getValue().asText("");
                    try {
                        // as Kubernetes decodes it: standard base64, line breaks ignored
                        out.put(e.getKey(), base64 ? Base64.getDecoder().decode(value.replaceAll("[\r\n]", ""))
                                : value.getBytes(StandardCharsets.UTF_8));
                    } catch (IllegalArgumentException bad) {
                        throw fail(path, "uses " + what + " whose " + field + "." + e.getKey() + " is not base64: " + bad.getMessage());
                    }
                }
            }
            return out;
        }

        private static String sha256(byte[] bytes) {
            try {
                return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is always present", e);
            }
        }

        /** The ConfigMap or Secret {@code name} of the workload's namespace: the manifest's, else one of the object files, else null. */
        private JsonNode object(String kind, String name) {
            String key = workload.namespace() + "/" + name;
            JsonNode found = manifest.objectsOfKind(kind).get(key);
            for (int i = 0; found == null && i < options.objectFiles().size(); i++) {
                found = options.objectFiles().get(i).objectsOfKind(kind).get(key);
            }
            return found;
        }

        /** A ConfigMap's data, or a Secret's keys (values not decoded: only the names are used). */
        private Map<String, String> values(JsonNode obj, boolean secret) {
            Map<String, String> out = new java.util.TreeMap<>();
            obj.path("data").fields().forEachRemaining(e -> out.put(e.getKey(), secret ? "" : e.getValue().asText()));
            if (secret) obj.path("stringData").fieldNames().forEachRemaining(k -> out.put(k, ""));
            return out;
        }

        private long memoryLimit(JsonNode resources, String path) throws ManifestException {
            JsonNode mem = resources.path("limits").path("memory");
            if (mem.isMissingNode() || mem.isNull()) return 0;
            try {
                return Quantity.bytes(mem.asText());
            } catch (IllegalArgumentException e) {
                throw fail(path + ".resources.limits.memory", e.getMessage());
            }
        }

        /** The shared generator's container with what Kubernetes adds: capabilities, optional env, cluster env, token mount. */
        PolicyDocument.Container finish(PolicyDocument.Container c) {
            Extra x = extras.get(c.name());
            if (x == null || c.name().equals(PAUSE_CONTAINER)) return c;
            List<PolicyDocument.EnvRule> env = new ArrayList<>();
            for (PolicyDocument.EnvRule r : c.envRules()) {
                String n = r.pattern().substring(0, Math.max(0, r.pattern().indexOf('='))).replace("\\", "");
                env.add(x.optionalEnv().contains(n) ? new PolicyDocument.EnvRule(r.pattern(), r.strategy(), false) : r);
            }
            env.addAll(CLUSTER_ENV);
            List<PolicyDocument.Mount> mounts = new ArrayList<>(c.mounts());
            if (x.serviceAccountMount()) {
                // the token the API server issues for this pod: no file can know it, so any content
                mounts.add(new PolicyDocument.Mount(SERVICE_ACCOUNT_PATH, ContentVolumeKind.PROJECTED.policySource(SERVICE_ACCOUNT_VOLUME),
                        "bind", List.of("rbind", "rshared", "ro"), null));
            }
            return new PolicyDocument.Container(c.id(), c.name(), c.layers(), c.command(), env, c.workingDir(), mounts,
                    c.execProcesses(), c.signals(), c.user(), x.capabilities() != null ? x.capabilities() : c.capabilities(),
                    c.seccompProfileSha256(), c.allowElevated(), c.allowStdioAccess(), c.noNewPrivileges(), c.limits());
        }

        private void checkFields(JsonNode obj, String path, Set<String> known, String why) throws ManifestException {
            if (obj.isMissingNode() || obj.isNull()) return;
            if (!obj.isObject()) throw fail(path, "expected an object, found " + type(obj));
            for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!known.contains(f)) throw fail(path + "." + f, why);
            }
        }

        private String text(JsonNode obj, String field, String path) throws ManifestException {
            JsonNode v = obj.path(field);
            if (!v.isTextual() || v.asText().isEmpty()) {
                throw fail(path + "." + field, "expected a non-empty string, found " + (v.isMissingNode() ? "none" : type(v) + " " + v));
            }
            return v.asText();
        }

        /** A list of strings, or null when absent. */
        private List<String> strings(JsonNode obj, String field, String path) throws ManifestException {
            JsonNode v = obj.path(field);
            if (v.isMissingNode() || v.isNull()) return null;
            if (!v.isArray()) throw fail(path + "." + field, "expected a list of strings, found " + type(v));
            List<String> out = new ArrayList<>();
            for (JsonNode s : v) {
                if (!s.isTextual()) throw fail(path + "." + field, "expected strings, found " + type(s) + " " + s + "; quote it");
                out.add(s.asText());
            }
            return out;
        }

        private ManifestException fail(String path, String message) {
            return new ManifestException(where + ": " + path + " " + message);
        }

        private static String type(JsonNode n) {
            return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The base64 annotation value of a policy (standard alphabet, padded), as the shim and Kata read it. */
    public static String annotationValue(GeneratedPolicy policy) {
        return Base64.getEncoder().encodeToString(policy.text().getBytes(StandardCharsets.UTF_8));
    }
}
