package dev.coffer.shim.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.coffer.agent.netns.NetworkNamespaces;
import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.enforce.ContentVolumeKind;
import dev.coffer.shim.kubelet.KubeletVolume;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.policy.spec.SpecException;
import dev.coffer.shim.ttrpc.Code;
import dev.coffer.shim.ttrpc.TtrpcException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What Coffer takes from a task's OCI bundle (config.json, written by containerd): the process
 * (args, env, cwd, user and groups), the image it came from and the pod's policy, both from annotations. The
 * rootfs containerd mounted is not used: the agent mounts the image's own dm-verity layers, the
 * ones the policy pins.
 *
 * @param image      the image reference, or null for a pod's sandbox (pause) task without one (the
 *                   shim's configured pause image)
 * @param policyText the Rego text from {@link #POLICY_ANNOTATION}, or null for the shim's default
 * @param role       the task's place in a Kubernetes pod, from CRI's annotations
 * @param networkNamespace the network namespace the task's group adopts: the path in the spec's
 *                   {@code linux.namespaces} entry of type network (a pod's, which containerd made
 *                   through CNI), or null for a namespace of the group's own (no path: a new
 *                   namespace; no entry or the host's own: hostNetwork, which a Coffer group never
 *                   shares). Only a task that starts a group has one: a pod's containers join the group's.
 * @param user       the process's user as containerd resolved it (CRI's runAsUser, runAsGroup,
 *                   runAsUsername, supplementalGroups and the pod's fsGroup, the image's user and
 *                   its /etc/group memberships), or null when the spec has none (the image's user)
 * @param contentMounts the kubelet's ConfigMap, Secret, projected and downwardAPI volumes of the
 *                   spec's mounts, as the agent's mounts with their files (read now, at Create): the
 *                   agent copies them into the sandbox, where the policy checks them
 */
record BundleConfig(String image, List<String> args, List<String> env, String cwd, String policyText, PodRole role,
                    Path networkNamespace, ProcessUser user, List<EmptyDirMount> emptyDirs, List<Request.Mount> contentMounts) {
    BundleConfig {
        emptyDirs = List.copyOf(emptyDirs);
        contentMounts = List.copyOf(contentMounts);
    }

    /**
     * A Kubernetes emptyDir volume the kubelet mounts into the container: in a Coffer pod it is the
     * sandbox's own volume of that name (on the group's scratch, which the host cannot read when
     * it is encrypted), never the host directory the kubelet made, whose content the host controls.
     */
    record EmptyDirMount(String name, String destination, boolean readOnly) {}

    /** Where the kubelet keeps a pod's emptyDir volumes: .../pods/UID/volumes/kubernetes.io~empty-dir/NAME. */
    static final String KUBELET_EMPTY_DIR = "/volumes/kubernetes.io~empty-dir/";

    /**
     * The OCI spec's {@code process.user}: numeric, as containerd writes it on Linux (it resolves
     * a user name against the image's /etc/passwd itself), with the supplementary groups in
     * containerd's order. The agent checks these very ids against the policy and runs the
     * container with them.
     */
    record ProcessUser(int uid, int gid, List<Integer> additionalGids) {
        ProcessUser {
            additionalGids = List.copyOf(additionalGids);
        }

        /** The group spec's {@code user}. */
        String spec() {
            return uid + ":" + gid;
        }
    }

    /** The image reference as CRI records it on every container it creates. */
    static final String CRI_IMAGE_ANNOTATION = "io.kubernetes.cri.image-name";
    /** The image reference for callers without CRI ({@code ctr run --annotation dev.coffer.image=REF}). */
    static final String IMAGE_ANNOTATION = "dev.coffer.image";
    /** The pod's policy, base64 of the Rego text, as Kata Containers and AKS pass it. */
    static final String POLICY_ANNOTATION = "io.katacontainers.config.agent.policy";
    /** The name of the one container of a task's group. */
    static final String CONTAINER = "main";

    private static final ObjectMapper JSON = new ObjectMapper();

    static BundleConfig read(Path bundle) throws TtrpcException {
        Path file = bundle.resolve("config.json");
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected an OCI runtime spec at " + file + ", found it unreadable: " + e.getMessage());
        }
        JsonNode annotations = root.path("annotations");
        PodRole role = PodRole.of(annotations);
        String image = annotations.path(CRI_IMAGE_ANNOTATION).asText(annotations.path(IMAGE_ANNOTATION).asText(""));
        if (image.isEmpty() && role instanceof PodRole.Sandbox) {
            image = null; // CRI names no image for the pause container: the shim's pause image stands in
        } else if (image.isEmpty()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected the image reference in annotation " + CRI_IMAGE_ANNOTATION
                    + " (set by CRI) or " + IMAGE_ANNOTATION + ", found neither; with ctr, add --annotation "
                    + IMAGE_ANNOTATION + "=REF (the image as imported into the Coffer home)");
        }
        JsonNode process = root.path("process");
        List<String> args = strings(process.path("args"));
        if (args.isEmpty()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected process.args in " + file + ", found none");
        }
        String policy = null;
        if (annotations.has(POLICY_ANNOTATION)) {
            try {
                policy = new String(Base64.getDecoder().decode(annotations.get(POLICY_ANNOTATION).asText().strip()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected annotation " + POLICY_ANNOTATION
                        + " to be base64 of the policy's Rego text, found text that is not base64: " + e.getMessage());
            }
            if (policy.isBlank()) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected a policy in annotation " + POLICY_ANNOTATION + ", found it empty");
            }
        }
        if (policy != null && role instanceof PodRole.Member) {
            // the pod's policy is the sandbox's, fixed when the pod started; a container cannot bring its own
            policy = null;
        }
        Path network = role instanceof PodRole.Member ? null : networkNamespace(root.path("linux").path("namespaces"), file);
        return new BundleConfig(image, args, strings(process.path("env")), process.path("cwd").asText(""), policy, role, network,
                processUser(process.path("user"), file), emptyDirs(root.path("mounts"), file),
                contentMounts(root.path("mounts"), file));
    }

    /**
     * The spec's mounts of the kubelet's volumes whose files it writes ({@link KubeletVolume}), read
     * from the kubelet's directories now and requested read-only at the same destinations. A
     * layout that is not the kubelet's, or too large, fails the task's Create with the reason.
     */
    static List<Request.Mount> contentMounts(JsonNode mounts, Path file) throws TtrpcException {
        List<Request.Mount> out = new ArrayList<>();
        if (!mounts.isArray()) return out; // emptyDirs refused a non-list already
        java.util.Set<String> destinations = new java.util.HashSet<>();
        long total = 0;
        for (JsonNode m : mounts) {
            KubeletVolume.Ref ref = KubeletVolume.refOf(m.path("source").asText(""));
            if (ref == null) continue;
            String destination = m.path("destination").asText("");
            if (!destinationOk(destination) || !destinations.add(destination)) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected " + ref.kind().podSpecField() + " volume " + ref.name()
                        + " mounted at an absolute path other than / without .. and once, found destination \"" + destination
                        + "\" in " + file);
            }
            KubeletVolume volume;
            try {
                volume = KubeletVolume.read(ref);
            } catch (KubeletVolume.LayoutException e) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, e.getMessage());
            }
            for (Request.MountFile f : volume.files()) total += f.content().length;
            if (total > ContentVolumeKind.MAX_CONTAINER_BYTES) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected at most " + ContentVolumeKind.MAX_CONTAINER_BYTES + " bytes of ConfigMap,"
                        + " Secret, projected and downwardAPI files per container, found more with volume " + ref.name() + " in "
                        + file + "; mount fewer or smaller volumes");
            }
            // the policy pins these options: the volume is read-only whatever the spec's options say
            out.add(new Request.Mount(destination, ref.kind().requestSource(ref.name()), "bind", List.of("rbind", "rshared", "ro"),
                    volume.files()));
        }
        return out;
    }


    private static boolean destinationOk(String destination) {
        return destination.startsWith("/") && !destination.equals("/") && !destination.contains("/../") && !destination.endsWith("/..")
                && !destination.contains("\0");
    }

    /**
     * The spec's mounts of kubelet emptyDir volumes, as the sandbox's volumes of the same name.
     * ConfigMaps, Secrets, projected and downwardAPI volumes are {@link #contentMounts}; the
     * kubelet's other mounts (hostPath, /etc/hosts, the termination log) are host content the
     * policy does not pin: they are not mounted (see the shim's package documentation).
     */
    static List<EmptyDirMount> emptyDirs(JsonNode mounts, Path file) throws TtrpcException {
        List<EmptyDirMount> out = new ArrayList<>();
        if (mounts.isMissingNode() || mounts.isNull()) return out;
        if (!mounts.isArray()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected mounts in " + file + " to be a list, found " + mounts.getNodeType());
        }
        java.util.Set<String> destinations = new java.util.HashSet<>();
        for (JsonNode m : mounts) {
            String source = m.path("source").asText("");
            int at = source.indexOf(KUBELET_EMPTY_DIR);
            if (at < 0) continue;
            String name = source.substring(at + KUBELET_EMPTY_DIR.length());
            String destination = m.path("destination").asText("");
            if (!name.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected the emptyDir volume in mount source " + source + " of "
                        + file + " to be named by a DNS label (as Kubernetes names volumes), found \"" + name + "\"");
            }
            if (!destinationOk(destination) || !destinations.add(destination)) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected emptyDir volume " + name + " mounted at an absolute path"
                        + " other than / without .. and once, found destination \"" + destination + "\" in " + file);
            }
            boolean readOnly = false;
            for (JsonNode o : m.path("options")) readOnly |= o.asText().equals("ro");
            out.add(new EmptyDirMount(name, destination, readOnly));
        }
        return out;
    }

    /**
     * The path of the network namespace entry in {@code namespaces}, or null where the group makes
     * its own: no entry, an entry without a path, or a path naming the shim's own (the host's)
     * network namespace. The namespace itself is checked by the agent, which adopts it.
     */
    private static Path networkNamespace(JsonNode namespaces, Path file) throws TtrpcException {
        Path found = null;
        for (JsonNode ns : namespaces) {
            if (!ns.path("type").asText().equals("network")) continue;
            if (found != null) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected at most one network namespace in linux.namespaces of "
                        + file + ", found several; a task has one network");
            }
            String path = ns.path("path").asText("");
            if (path.isEmpty()) continue; // a new namespace: the group's own
            if (!path.startsWith("/")) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected the network namespace's path in linux.namespaces of "
                        + file + " to be absolute (e.g. /var/run/netns/cni-UUID), found \"" + path + "\"");
            }
            found = Path.of(path);
        }
        // the shim's own namespace (the host's) is hostNetwork, as CRI may also say; a missing or unreadable path
        // goes on to the agent, which refuses it with the reason
        return found == null || NetworkNamespaces.isOwn(found) ? null : found;
    }

    /** The most supplementary groups the shim passes on (the agent's bound too); real pods have a few. */
    static final int MAX_ADDITIONAL_GIDS = 256;

    /** {@code process.user}, or null when the spec has none; anything but numeric ids is refused with what was found. */
    static ProcessUser processUser(JsonNode user, Path file) throws TtrpcException {
        if (user.isMissingNode() || user.isNull()) return null;
        if (!user.isObject()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected process.user in " + file + " to be an object, found " + user);
        }
        String username = user.path("username").asText("");
        if (!username.isEmpty()) {
            // Windows' field: on Linux containerd resolves CRI's runAsUsername to uid and gid from the image's /etc/passwd
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected process.user in " + file + " as numeric uid and gid (containerd"
                    + " resolves a user name against the image's /etc/passwd on Linux), found username \"" + username
                    + "\"; set runAsUser and runAsGroup, or a user the image's /etc/passwd lists");
        }
        int uid = id(user.path("uid"), "process.user.uid", file);
        int gid = id(user.path("gid"), "process.user.gid", file);
        JsonNode extra = user.path("additionalGids");
        List<Integer> gids = new ArrayList<>();
        if (!extra.isMissingNode() && !extra.isNull()) {
            if (!extra.isArray() || extra.size() > MAX_ADDITIONAL_GIDS) {
                throw new TtrpcException(Code.INVALID_ARGUMENT, "expected process.user.additionalGids in " + file + " as a list of at"
                        + " most " + MAX_ADDITIONAL_GIDS + " group ids, found " + (extra.isArray() ? extra.size() + " entries" : extra));
            }
            for (int i = 0; i < extra.size(); i++) {
                int g = id(extra.get(i), "process.user.additionalGids[" + i + "]", file);
                if (!gids.contains(g)) gids.add(g);
            }
        }
        return new ProcessUser(uid, gid, gids);
    }

    /** A uid or gid: absent is 0 (the OCI default), anything else must be an integer 0..2147483647 (Kubernetes' range). */
    private static int id(JsonNode n, String field, Path file) throws TtrpcException {
        if (n.isMissingNode()) return 0;
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected " + field + " in " + file + " to be an id 0.." + Integer.MAX_VALUE
                    + ", found " + n);
        }
        return n.asInt();
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /**
     * The group spec of this task: one container named {@link #CONTAINER} running exactly the
     * bundle's process. Written as GROUP.yaml and parsed, so the spec parser's checks apply.
     */
    GroupSpec groupSpec(String groupName) throws TtrpcException {
        return groupSpec(groupName, CONTAINER, image, false);
    }

    /** As {@link #groupSpec(String)}, allowing plaintext scratch or not (see below). */
    GroupSpec groupSpec(String groupName, boolean allowUnencryptedScratch) throws TtrpcException {
        return groupSpec(groupName, CONTAINER, image, allowUnencryptedScratch);
    }

    /**
     * The group spec of one container named {@code containerName} of {@code imageRef} running the
     * bundle's process. {@code allowUnencryptedScratch}: the spec says plaintext scratch is
     * acceptable (the shim's {@code COFFER_SHIM_ALLOW_UNENCRYPTED_SCRATCH}), so a policy generated
     * from it allows it.
     */
    GroupSpec groupSpec(String groupName, String containerName, String imageRef, boolean allowUnencryptedScratch)
            throws TtrpcException {
        Map<String, Object> container = new LinkedHashMap<>();
        container.put("name", containerName);
        container.put("image", imageRef);
        container.put("command", args);
        List<Map<String, String>> envList = new ArrayList<>();
        for (String e : env) {
            int eq = e.indexOf('=');
            if (eq <= 0) continue; // an OCI env entry without NAME= sets nothing
            envList.add(Map.of("name", e.substring(0, eq), "value", e.substring(eq + 1)));
        }
        if (!envList.isEmpty()) container.put("env", envList);
        if (!cwd.isEmpty() && !cwd.equals("/")) container.put("workingDir", cwd);
        if (user != null) {
            container.put("user", user.spec());
            // as containerd lists them, the primary group among them (containerd 1.6 adds it): the process's
            // supplementary groups are then exactly containerd's
            if (!user.additionalGids().isEmpty()) container.put("supplementalGroups", user.additionalGids());
        }
        if (!emptyDirs.isEmpty()) {
            container.put("volumeMounts", emptyDirs.stream().map(v -> Map.of("name", v.name(), "mountPath", v.destination(),
                    "readOnly", v.readOnly())).toList());
        }
        Map<String, Object> group = new LinkedHashMap<>();
        group.put("name", groupName);
        group.put("containers", List.of(container));
        if (!emptyDirs.isEmpty()) {
            group.put("volumes", emptyDirs.stream().map(EmptyDirMount::name).distinct()
                    .map(n -> Map.of("name", n, "emptyDir", Map.of())).toList());
        }
        if (allowUnencryptedScratch) group.put("scratch", Map.of("allowUnencrypted", true));
        String yaml;
        try {
            yaml = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)).writeValueAsString(group);
        } catch (IOException e) {
            throw new IllegalStateException("a map of strings always serializes", e);
        }
        try {
            return GroupSpecParser.parse(yaml, "config.json");
        } catch (SpecException e) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "the bundle's process does not make a valid Coffer group: " + e.getMessage());
        }
    }

    /**
     * A Coffer group name (a DNS label) for a containerd task: the id made lowercase with other
     * characters as '-', cut to 20 characters (CRI's ids are 64 hex digits, and the agent's unix
     * socket under the group's directory must stay within the 108 bytes a socket path may have), and a digest of namespace and id so two namespaces' tasks of
     * one id, or two ids that read alike, stay apart.
     */
    static String groupName(String namespace, String id) {
        String readable = id.toLowerCase().replaceAll("[^a-z0-9-]", "-").replaceAll("^-+|-+$", "");
        if (readable.length() > 20) readable = readable.substring(0, 20).replaceAll("-+$", "");
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest((namespace + "/" + id).getBytes(StandardCharsets.UTF_8));
            String suffix = HexFormat.of().formatHex(digest, 0, 5);
            return readable.isEmpty() ? "task-" + suffix : readable + "-" + suffix;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always present", e);
        }
    }
}
