package dev.coffer.policy.spec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.coffer.policy.spec.GroupSpec.ContainerSpec;
import dev.coffer.policy.spec.GroupSpec.EnvVar;
import dev.coffer.policy.spec.GroupSpec.ExecProcess;
import dev.coffer.policy.spec.GroupSpec.Security;
import dev.coffer.policy.spec.GroupSpec.Port;
import dev.coffer.policy.spec.GroupSpec.VolumeMount;
import dev.coffer.policy.spec.GroupSpec.VolumeSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads and validates GROUP.yaml. Every error names the file, the line and column, and the field
 * path (e.g. {@code containers[1].env[0].name}); nothing is half-accepted.
 *
 * <pre>
 * name: web
 * containers:
 *   - name: server
 *     image: demo:latest
 *     command: [httpd, -f]
 *     args: [-p, "8080"]
 *     env: [{name: MODE, value: fast}]
 *     workingDir: /www
 *     ports: [{containerPort: 8080, protocol: TCP}]
 *     volumeMounts: [{name: shared, mountPath: /data, readOnly: false}]
 * volumes:
 *   - name: shared
 *     emptyDir: {}
 * skr:                       # opt-in: the SKR API inside the group (needs a TEE); {} means port 8080
 *   port: 8080
 *   endpoints: [http://127.0.0.1:8400]   # the attestation services / key vaults it may call
 * </pre>
 */
public final class GroupSpecParser {
    /** Longest spec file we read; a group spec is a few KiB, anything huge is a mistake. */
    static final long MAX_BYTES = 1024 * 1024;
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]*");
    private static final Pattern KEY_NAME = Pattern.compile("[A-Za-z0-9-]{1,127}");
    private static final YAMLFactory YAML = new YAMLFactory();

    private final String file;

    private GroupSpecParser(String file) {
        this.file = file;
    }

    public static GroupSpec parse(Path path) throws SpecException {
        String name = path.toString();
        try {
            long size = Files.size(path);
            if (size > MAX_BYTES) {
                throw new SpecException(name, 1, 1, "", "expected a group spec of at most " + MAX_BYTES + " bytes, found "
                        + size + " bytes");
            }
            return parse(Files.readString(path), name);
        } catch (SpecException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new SpecException(name, 0, 0, "", "expected a group spec file, found no such file");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new SpecException(name, 1, 1, "", "expected UTF-8 text, found bytes that are not UTF-8");
        } catch (IOException e) {
            throw new SpecException(name, 0, 0, "", "cannot read the file (" + e.getMessage() + ")");
        }
    }

    public static GroupSpec parse(String yaml, String fileName) throws SpecException {
        return new GroupSpecParser(fileName).document(yaml);
    }

    private GroupSpec document(String yaml) throws SpecException {
        YamlNode root;
        try (JsonParser p = YAML.createParser(yaml)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new SpecException(file, 1, 1, "", "expected a group spec (name, containers, volumes), found an empty document");
            }
            root = YamlNode.read(p, file);
            if (p.nextToken() != null) {
                JsonLocation l = p.currentTokenLocation();
                throw new SpecException(file, l.getLineNr(), l.getColumnNr(), "", "expected one YAML document, found more");
            }
        } catch (SpecException e) {
            throw e;
        } catch (JsonProcessingException e) {
            JsonLocation l = e.getLocation();
            String msg = e.getOriginalMessage() == null ? "malformed YAML" : e.getOriginalMessage().lines().findFirst().orElse("");
            throw new SpecException(file, l == null ? 0 : l.getLineNr(), l == null ? 0 : l.getColumnNr(), "",
                    "expected well-formed YAML, found a syntax error: " + msg);
        } catch (IOException e) {
            throw new SpecException(file, 0, 0, "", "cannot read YAML (" + e.getMessage() + ")");
        }
        YamlNode.Mapping top = mapping(root, "", Set.of("name", "containers", "volumes", "skr", "scratch", "stdin"));
        String name = requiredString(top, "name", "");
        if (!DNS_LABEL.matcher(name).matches()) {
            throw error(top.entries().get("name").value(), "name",
                    "expected a group name of lowercase letters, digits and '-' (at most 63, like a DNS label), found \"" + name + "\"");
        }
        List<VolumeSpec> volumes = new ArrayList<>();
        Map<String, YamlNode> volumeNodes = new HashMap<>();
        YamlNode.Sequence volumeList = optionalSequence(top, "volumes", "");
        if (volumeList != null) {
            for (int i = 0; i < volumeList.items().size(); i++) {
                String path = "volumes[" + i + "]";
                YamlNode.Mapping v = mapping(volumeList.items().get(i), path, null);
                String vname = requiredString(v, "name", path);
                if (!DNS_LABEL.matcher(vname).matches()) {
                    throw error(v.entries().get("name").value(), path + ".name",
                            "expected a volume name of lowercase letters, digits and '-', found \"" + vname + "\"");
                }
                if (volumeNodes.containsKey(vname)) {
                    throw error(v, path + ".name", "expected unique volume names, found \"" + vname + "\" twice (first on line "
                            + volumeNodes.get(vname).line() + ")");
                }
                volumeNodes.put(vname, v);
                volumes.add(volume(v, vname, path));
            }
        }
        YamlNode.Sequence containerList = optionalSequence(top, "containers", "");
        if (containerList == null || containerList.items().isEmpty()) {
            throw error(containerList == null ? top : containerList, "containers", "expected at least one container, found none");
        }
        Set<String> readOnlyVolumes = new HashSet<>();
        for (VolumeSpec v : volumes) {
            if (v.encrypted() != null && v.encrypted().readOnly()) readOnlyVolumes.add(v.name());
        }
        List<ContainerSpec> containers = new ArrayList<>();
        Map<String, Integer> containerLines = new HashMap<>();
        for (int i = 0; i < containerList.items().size(); i++) {
            ContainerSpec c = container(containerList.items().get(i), "containers[" + i + "]", volumeNodes.keySet(), readOnlyVolumes);
            if (containerLines.containsKey(c.name())) {
                throw error(containerList.items().get(i), "containers[" + i + "].name", "expected unique container names, found \""
                        + c.name() + "\" twice (first on line " + containerLines.get(c.name()) + ")");
            }
            containerLines.put(c.name(), containerList.items().get(i).line());
            containers.add(c);
        }
        GroupSpec.Skr skr = skr(top);
        // The SKR API exists only when the spec asks for it (an skr section), so only then can it collide.
        if (skr.declared() && skr.enabled()) {
            for (int i = 0; i < containers.size(); i++) {
                List<Port> ports = containers.get(i).ports();
                for (int j = 0; j < ports.size(); j++) {
                    if (ports.get(j).containerPort() == skr.port() && ports.get(j).protocol().equals("TCP")) {
                        YamlNode portNode = ((YamlNode.Mapping) containerList.items().get(i)).entries().get("ports").value();
                        throw error(((YamlNode.Sequence) portNode).items().get(j), "containers[" + i + "].ports[" + j + "].containerPort",
                                "expected a port other than " + skr.port() + ", which the group's SKR API uses, found it;"
                                        + " move the container or set skr: {port: N}");
                    }
                }
            }
        }
        return new GroupSpec(name, containers, volumes, skr, scratch(top), stdin(top));
    }

    /** {@code stdin: {allow: BOOL}}; see {@link GroupSpec.Stdin}. */
    private GroupSpec.Stdin stdin(YamlNode.Mapping top) throws SpecException {
        YamlNode.Entry e = top.entries().get("stdin");
        if (e == null) return GroupSpec.Stdin.REFUSED;
        YamlNode.Mapping m = mapping(e.value(), "stdin", Set.of("allow"));
        return new GroupSpec.Stdin(optionalBoolean(m, "allow", "stdin"));
    }

    /** {@code scratch: {allowUnencrypted: BOOL}}; see {@link GroupSpec.Scratch}. */
    private GroupSpec.Scratch scratch(YamlNode.Mapping top) throws SpecException {
        YamlNode.Entry e = top.entries().get("scratch");
        if (e == null) return GroupSpec.Scratch.ENCRYPTED_ONLY;
        YamlNode.Mapping m = mapping(e.value(), "scratch", Set.of("allowUnencrypted"));
        return new GroupSpec.Scratch(optionalBoolean(m, "allowUnencrypted", "scratch"));
    }

    private VolumeSpec volume(YamlNode.Mapping v, String vname, String path) throws SpecException {
        for (Map.Entry<String, YamlNode.Entry> e : v.entries().entrySet()) {
            if (!e.getKey().equals("name") && !e.getKey().equals("emptyDir") && !e.getKey().equals("encrypted")) {
                throw new SpecException(file, e.getValue().line(), e.getValue().column(), path + "." + e.getKey(),
                        "expected a volume kind, emptyDir or encrypted, found \"" + e.getKey() + "\"");
            }
        }
        YamlNode.Entry emptyDir = v.entries().get("emptyDir");
        YamlNode.Entry encrypted = v.entries().get("encrypted");
        if (emptyDir != null && encrypted != null) {
            throw new SpecException(file, encrypted.line(), encrypted.column(), path + ".encrypted",
                    "expected one volume kind, found both emptyDir and encrypted; split them into two volumes");
        }
        if (encrypted != null) {
            return new VolumeSpec(vname, VolumeSpec.Kind.ENCRYPTED, encrypted(encrypted.value(), path + ".encrypted"));
        }
        if (emptyDir == null) {
            throw error(v, path, "expected a volume kind (emptyDir: {} or encrypted: {source, key}), found none");
        }
        if (emptyDir.value() instanceof YamlNode.Mapping m) {
            mapping(m, path + ".emptyDir", Set.of());
        } else if (!(emptyDir.value() instanceof YamlNode.Scalar s && s.token() == JsonToken.VALUE_NULL)) {
            throw error(emptyDir.value(), path + ".emptyDir", "expected {} , found " + emptyDir.value().kind());
        }
        return new VolumeSpec(vname, VolumeSpec.Kind.EMPTY_DIR);
    }

    /** {@code encrypted: {source, key, authority, vault, readOnly}}; see {@link GroupSpec.Encrypted}. */
    private GroupSpec.Encrypted encrypted(YamlNode node, String path) throws SpecException {
        YamlNode.Mapping m = mapping(node, path, Set.of("source", "key", "authority", "vault", "readOnly", "headerDigest", "integrity"));
        String source = requiredString(m, "source", path);
        boolean remote = source.startsWith("http://") || source.startsWith("https://");
        if (remote) {
            checkUrl(m.entries().get("source").value(), path + ".source", source);
        } else if (source.contains("://") || source.chars().anyMatch(ch -> ch < 0x20) || source.endsWith("/")) {
            throw error(m.entries().get("source").value(), path + ".source",
                    "expected a volume file path (relative to the spec) or an http(s) URL, found \"" + source + "\"");
        }
        String key = requiredString(m, "key", path);
        if (!KEY_NAME.matcher(key).matches()) {
            throw error(m.entries().get("key").value(), path + ".key",
                    "expected a vault key name of 1-127 letters, digits or dashes (as given to coffer volume create --key), found \""
                            + key + "\"");
        }
        boolean readOnly;
        if (m.entries().containsKey("readOnly")) {
            readOnly = optionalBoolean(m, "readOnly", path);
            if (remote && !readOnly) {
                throw error(m.entries().get("readOnly").value(), path + ".readOnly",
                        "expected readOnly: true for a volume fetched from a URL (it cannot be written back), found false;"
                                + " copy the image to a file to write it");
            }
        } else {
            readOnly = remote;
        }
        // no defaults for the endpoints: a vault the host chooses would hand out a key it knows
        String authority = optionalScalar(m, "authority", path);
        if (authority == null) {
            throw error(node, path + ".authority", "expected the attestation service that vouches for the group (authority:"
                    + " URL, e.g. http://127.0.0.1:8400 for coffer server), found none; add " + path + ".authority: the policy pins it");
        }
        checkUrl(m.entries().get("authority").value(), path + ".authority", authority);
        String vault = optionalScalar(m, "vault", path);
        if (vault == null) {
            throw error(node, path + ".vault", "expected the key vault holding key " + key + " (vault: URL, e.g."
                    + " http://127.0.0.1:8400 for coffer server), found none; add " + path + ".vault: the policy pins it");
        }
        checkUrl(m.entries().get("vault").value(), path + ".vault", vault);
        String headerDigest = optionalScalar(m, "headerDigest", path);
        if (headerDigest == null || !headerDigest.matches("[0-9a-f]{64}")) {
            throw error(headerDigest == null ? node : m.entries().get("headerDigest").value(), path + ".headerDigest",
                    "expected the volume's LUKS2 header digest (64 lowercase hex digits, printed by coffer volume create as"
                            + " header_digest), found " + (headerDigest == null ? "none" : "\"" + headerDigest + "\"")
                            + "; add " + path + ".headerDigest: the agent opens only the header the policy pins");
        }
        String integrity = optionalScalar(m, "integrity", path);
        if (integrity == null) {
            integrity = GroupSpec.Encrypted.DEFAULT_INTEGRITY;
        } else if (!GroupSpec.Encrypted.INTEGRITY_MODES.contains(integrity)) {
            throw error(m.entries().get("integrity").value(), path + ".integrity", "expected one of "
                    + GroupSpec.Encrypted.INTEGRITY_MODES + " (none: a plain XTS volume whose sectors the host can flip or replay"
                    + " unnoticed), found \"" + integrity + "\"");
        }
        return new GroupSpec.Encrypted(source, key, authority, vault, readOnly, headerDigest, integrity);
    }

    private void checkUrl(YamlNode at, String field, String url) throws SpecException {
        java.net.URI uri;
        try {
            uri = new java.net.URI(url);
        } catch (java.net.URISyntaxException e) {
            throw error(at, field, "expected an http(s) URL, found \"" + url + "\" (" + e.getReason() + ")");
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
                || uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
            throw error(at, field, "expected an http(s) URL with a host and no user info or fragment, found \"" + url + "\"");
        }
    }

    private GroupSpec.Skr skr(YamlNode.Mapping top) throws SpecException {
        YamlNode.Entry e = top.entries().get("skr");
        if (e == null) return GroupSpec.Skr.DEFAULT;
        YamlNode.Mapping m = mapping(e.value(), "skr", Set.of("port", "enabled", "endpoints", "pins"));
        boolean enabled = !m.entries().containsKey("enabled") || optionalBoolean(m, "enabled", "skr");
        int port = m.entries().containsKey("port") ? portNumber(m.entries().get("port").value(), "skr.port")
                : GroupSpec.Skr.DEFAULT_PORT;
        List<String> endpoints = new ArrayList<>();
        YamlNode.Sequence list = optionalSequence(m, "endpoints", "skr");
        if (list != null) {
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String url = endpointUrl(item, scalarText(item, "skr.endpoints[" + i + "]"), "skr.endpoints[" + i + "]");
                if (!endpoints.contains(url)) endpoints.add(url);
            }
            if (endpoints.size() > MAX_ENDPOINTS) {
                throw error(list, "skr.endpoints", "expected at most " + MAX_ENDPOINTS + " endpoints, found " + endpoints.size());
            }
        }
        return new GroupSpec.Skr(enabled, port, true, endpoints, pins(m));
    }

    private static final java.util.regex.Pattern TLS_FINGERPRINT = java.util.regex.Pattern.compile("[0-9a-f]{64}");
    private static final java.util.regex.Pattern JWK_THUMBPRINT = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{43}");

    /** {@code skr.pins}: per endpoint, its TLS certificate's SHA-256 and its signing keys' RFC 7638 thumbprints. */
    private List<GroupSpec.EndpointPin> pins(YamlNode.Mapping skr) throws SpecException {
        YamlNode.Sequence list = optionalSequence(skr, "pins", "skr");
        if (list == null) return List.of();
        List<GroupSpec.EndpointPin> out = new ArrayList<>();
        for (int i = 0; i < list.items().size(); i++) {
            String path = "skr.pins[" + i + "]";
            YamlNode.Mapping m = mapping(list.items().get(i), path, Set.of("endpoint", "tls_certificate", "signing_keys"));
            String endpoint = endpointUrl(m.entries().get("endpoint") == null ? m : m.entries().get("endpoint").value(),
                    requiredString(m, "endpoint", path), path + ".endpoint");
            for (GroupSpec.EndpointPin p : out) {
                if (p.endpoint().equals(endpoint)) throw error(m, path + ".endpoint", "expected each endpoint pinned once, found " + endpoint + " again");
            }
            String cert = optionalScalar(m, "tls_certificate", path);
            if (cert != null) {
                cert = cert.replace(":", "").toLowerCase(java.util.Locale.ROOT);
                if (!TLS_FINGERPRINT.matcher(cert).matches()) {
                    throw error(m.entries().get("tls_certificate").value(), path + ".tls_certificate", "expected the SHA-256 of the"
                            + " endpoint's TLS certificate as 64 hex digits (coffer server pins prints it), found \"" + cert + "\"");
                }
                if (!endpoint.startsWith("https://")) {
                    throw error(m, path + ".tls_certificate", "expected an https endpoint for a certificate pin, found " + endpoint);
                }
            }
            List<String> keys = stringList(m, "signing_keys", path);
            for (int k = 0; k < keys.size(); k++) {
                if (!JWK_THUMBPRINT.matcher(keys.get(k)).matches()) {
                    throw error(m, path + ".signing_keys[" + k + "]", "expected an RFC 7638 SHA-256 JWK thumbprint (43 base64url"
                            + " characters, as coffer server pins prints it), found \"" + keys.get(k) + "\"");
                }
            }
            if (cert == null && keys.isEmpty()) {
                throw error(m, path, "expected tls_certificate or signing_keys (or both) for " + endpoint + ", found neither");
            }
            out.add(new GroupSpec.EndpointPin(endpoint, cert, keys));
        }
        return out;
    }

    /** A guest network reaches each endpoint through its own forwarded address; keep the list short. */
    private static final int MAX_ENDPOINTS = 16;

    /**
     * An endpoint as its base URL with an explicit port: {@code https://vault.example} becomes
     * {@code https://vault.example:443}, so the runtime and the agent compare and forward one form.
     */
    private String endpointUrl(YamlNode at, String text, String path) throws SpecException {
        java.net.URI uri;
        try {
            uri = new java.net.URI(text.strip());
        } catch (java.net.URISyntaxException ex) {
            throw error(at, path, "expected an http(s) URL like https://vault.example:8400, found \"" + text + "\" (" + ex.getReason() + ")");
        }
        String scheme = uri.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme) || uri.getHost() == null || uri.getRawUserInfo() != null
                || uri.getRawQuery() != null || uri.getRawFragment() != null
                || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))) {
            throw error(at, path, "expected an http(s) URL scheme://host[:port] without path, user, query or fragment"
                    + " (e.g. https://vault.example:8400), found \"" + text + "\"");
        }
        int port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
        return scheme + "://" + uri.getHost().toLowerCase(java.util.Locale.ROOT) + ":" + port;
    }

    private ContainerSpec container(YamlNode node, String path, Set<String> volumes, Set<String> readOnlyVolumes)
            throws SpecException {
        YamlNode.Mapping m = mapping(node, path, Set.of("name", "image", "command", "args", "env", "workingDir", "user",
                "supplementalGroups", "ports", "volumeMounts", "execProcesses", "signals", "securityContext", "resources"));
        String name = requiredString(m, "name", path);
        if (!DNS_LABEL.matcher(name).matches()) {
            throw error(m.entries().get("name").value(), path + ".name",
                    "expected a container name of lowercase letters, digits and '-' (at most 63), found \"" + name + "\"");
        }
        String image = requiredString(m, "image", path);
        if (image.isBlank() || image.chars().anyMatch(Character::isWhitespace)) {
            throw error(m.entries().get("image").value(), path + ".image",
                    "expected an image reference like demo:latest or sha256:<id>, found \"" + image + "\"");
        }
        List<String> command = stringList(m, "command", path);
        List<String> args = stringList(m, "args", path);
        List<EnvVar> env = new ArrayList<>();
        YamlNode.Sequence envList = optionalSequence(m, "env", path);
        Set<String> envNames = new HashSet<>();
        if (envList != null) {
            for (int i = 0; i < envList.items().size(); i++) {
                String p = path + ".env[" + i + "]";
                YamlNode.Mapping e = mapping(envList.items().get(i), p, Set.of("name", "value", "variable"));
                String envName = requiredString(e, "name", p);
                if (!ENV_NAME.matcher(envName).matches()) {
                    throw error(e.entries().get("name").value(), p + ".name",
                            "expected an environment variable name (letters, digits, '_', not starting with a digit), found \"" + envName + "\"");
                }
                if (!envNames.add(envName)) {
                    throw error(e, p + ".name", "expected each environment variable once, found \"" + envName + "\" again");
                }
                String value = optionalScalar(e, "value", p);
                boolean variable = optionalBoolean(e, "variable", p);
                if (variable) {
                    // a per-deployment value: the policy pins an RE2 pattern instead of the text
                    try {
                        com.google.re2j.Pattern.compile(value == null ? "" : value);
                    } catch (com.google.re2j.PatternSyntaxException ex) {
                        throw error(e.entries().get("value") == null ? e : e.entries().get("value").value(), p + ".value",
                                "expected an RE2 pattern (variable: true), found \"" + value + "\": " + ex.getDescription());
                    }
                }
                env.add(new EnvVar(envName, value == null ? "" : value, variable));
            }
        }
        String workingDir = optionalScalar(m, "workingDir", path);
        if (workingDir != null && !workingDir.startsWith("/")) {
            throw error(m.entries().get("workingDir").value(), path + ".workingDir",
                    "expected an absolute path, found \"" + workingDir + "\"");
        }
        String user = optionalScalar(m, "user", path);
        if (user != null && (user.isBlank() || user.chars().anyMatch(Character::isWhitespace))) {
            throw error(m.entries().get("user").value(), path + ".user",
                    "expected a user name or uid[:gid] like 1000:1000, found \"" + user + "\"");
        }
        List<Integer> supplementalGroups = groupList(m, "supplementalGroups", path);
        List<Port> ports = new ArrayList<>();
        YamlNode.Sequence portList = optionalSequence(m, "ports", path);
        if (portList != null) {
            for (int i = 0; i < portList.items().size(); i++) {
                ports.add(port(portList.items().get(i), path + ".ports[" + i + "]"));
            }
        }
        List<VolumeMount> mounts = new ArrayList<>();
        Set<String> mountPaths = new HashSet<>();
        YamlNode.Sequence mountList = optionalSequence(m, "volumeMounts", path);
        if (mountList != null) {
            for (int i = 0; i < mountList.items().size(); i++) {
                String p = path + ".volumeMounts[" + i + "]";
                YamlNode.Mapping vm = mapping(mountList.items().get(i), p, Set.of("name", "mountPath", "readOnly"));
                String vname = requiredString(vm, "name", p);
                if (!volumes.contains(vname)) {
                    throw error(vm.entries().get("name").value(), p + ".name", "expected the name of a volume under volumes:, found \""
                            + vname + "\"; declared: " + (volumes.isEmpty() ? "none" : String.join(", ", volumes)));
                }
                String mountPath = requiredString(vm, "mountPath", p);
                if (!mountPath.startsWith("/") || mountPath.equals("/") || mountPath.contains("/../") || mountPath.endsWith("/..")) {
                    throw error(vm.entries().get("mountPath").value(), p + ".mountPath",
                            "expected an absolute path other than / and without '..', found \"" + mountPath + "\"");
                }
                if (!mountPaths.add(mountPath)) {
                    throw error(vm, p + ".mountPath", "expected each mountPath once per container, found \"" + mountPath + "\" again");
                }
                boolean mountReadOnly = optionalBoolean(vm, "readOnly", p);
                if (readOnlyVolumes.contains(vname) && !mountReadOnly) {
                    throw error(vm, p + ".readOnly", "expected readOnly: true for a mount of volume \"" + vname
                            + "\", which is opened read-only, found " + (vm.entries().containsKey("readOnly") ? "false" : "none")
                            + "; add readOnly: true");
                }
                mounts.add(new VolumeMount(vname, mountPath, mountReadOnly));
            }
        }
        List<ExecProcess> execs = new ArrayList<>();
        YamlNode.Sequence execList = optionalSequence(m, "execProcesses", path);
        if (execList != null) {
            for (int i = 0; i < execList.items().size(); i++) {
                String p = path + ".execProcesses[" + i + "]";
                YamlNode.Mapping x = mapping(execList.items().get(i), p, Set.of("command", "signals"));
                List<String> argv = stringList(x, "command", p);
                if (argv.isEmpty()) {
                    throw error(x, p + ".command", "expected the argv the host may exec, e.g. [\"/bin/ls\", \"/data\"], found none");
                }
                execs.add(new ExecProcess(argv, signalList(x, "signals", p)));
            }
        }
        List<Integer> signals = signalList(m, "signals", path);
        Security security = security(m, path).withLimits(limits(m, path));
        return new ContainerSpec(name, image, command, args, env, workingDir, user, supplementalGroups, ports, mounts, execs,
                signals, security);
    }

    private Security security(YamlNode.Mapping container, String path) throws SpecException {
        YamlNode.Entry entry = container.entries().get("securityContext");
        if (entry == null) return Security.DEFAULT;
        String p = path + ".securityContext";
        YamlNode.Mapping m = mapping(entry.value(), p, Set.of("privileged", "allowStdioAccess", "noNewPrivileges",
                "seccompProfileSha256"));
        boolean privileged = optionalBoolean(m, "privileged", p);
        if (privileged) {
            throw error(m.entries().get("privileged").value(), p + ".privileged",
                    "expected false, found true: Coffer's sandboxes never run privileged containers (a privileged"
                            + " container controls its sandbox, and so anything the policy was meant to pin)");
        }
        boolean stdio = !m.entries().containsKey("allowStdioAccess") || optionalBoolean(m, "allowStdioAccess", p);
        String seccomp = optionalScalar(m, "seccompProfileSha256", p);
        if (seccomp != null && !seccomp.matches("[0-9a-f]{64}")) {
            throw error(m.entries().get("seccompProfileSha256").value(), p + ".seccompProfileSha256",
                    "expected 64 lowercase hex digits (sha256sum of the profile JSON), found \"" + seccomp + "\"");
        }
        return new Security(false, stdio, optionalBoolean(m, "noNewPrivileges", p), seccomp == null ? "" : seccomp);
    }

    /** {@code resources: {limits: {memory: 256Mi, pids: 128}}}: Kubernetes' form, with pids added. */
    private GroupSpec.Limits limits(YamlNode.Mapping container, String path) throws SpecException {
        YamlNode.Entry entry = container.entries().get("resources");
        if (entry == null) return GroupSpec.Limits.NONE;
        String p = path + ".resources";
        YamlNode.Mapping resources = mapping(entry.value(), p, Set.of("limits"));
        YamlNode.Entry limitsEntry = resources.entries().get("limits");
        if (limitsEntry == null) return GroupSpec.Limits.NONE;
        YamlNode.Mapping m = mapping(limitsEntry.value(), p + ".limits", Set.of("memory", "pids"));
        String memory = optionalScalar(m, "memory", p + ".limits");
        String pids = optionalScalar(m, "pids", p + ".limits");
        long memoryBytes = 0;
        if (memory != null) {
            memoryBytes = memoryQuantity(memory);
            if (memoryBytes < 4L << 20) {
                throw error(m.entries().get("memory").value(), p + ".limits.memory",
                        "expected a memory limit of at least 4Mi (a number of bytes or with a suffix Ki, Mi, Gi, Ti, k, M, G, T), found \""
                                + memory + "\"");
            }
        }
        long pidLimit = 0;
        if (pids != null) {
            try {
                pidLimit = Long.parseLong(pids);
            } catch (NumberFormatException e) {
                pidLimit = -1;
            }
            if (pidLimit < 1 || pidLimit > 4_194_304) {
                throw error(m.entries().get("pids").value(), p + ".limits.pids",
                        "expected a number of processes from 1 to 4194304, found \"" + pids + "\"");
            }
        }
        return new GroupSpec.Limits(memoryBytes, pidLimit);
    }

    /** A Kubernetes memory quantity in bytes, or -1 when it is not one. */
    static long memoryQuantity(String q) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]{1,15})(Ki|Mi|Gi|Ti|k|M|G|T)?").matcher(q);
        if (!m.matches()) return -1;
        long n = Long.parseLong(m.group(1));
        long unit = m.group(2) == null ? 1 : switch (m.group(2)) {
            case "Ki" -> 1L << 10;
            case "Mi" -> 1L << 20;
            case "Gi" -> 1L << 30;
            case "Ti" -> 1L << 40;
            case "k" -> 1_000L;
            case "M" -> 1_000_000L;
            case "G" -> 1_000_000_000L;
            default -> 1_000_000_000_000L;
        };
        return n > Long.MAX_VALUE / unit ? -1 : n * unit;
    }

    /** Group ids as Kubernetes allows them (0..2147483647), each once. */
    private List<Integer> groupList(YamlNode.Mapping m, String key, String path) throws SpecException {
        YamlNode.Sequence seq = optionalSequence(m, key, path);
        if (seq == null) return List.of();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < seq.items().size(); i++) {
            YamlNode item = seq.items().get(i);
            Integer gid = null;
            if (item instanceof YamlNode.Scalar sc && sc.token() == JsonToken.VALUE_NUMBER_INT) {
                try {
                    gid = Integer.parseInt(sc.text());
                } catch (NumberFormatException ignored) {
                    // out of range: the error below
                }
            }
            if (gid == null || gid < 0) {
                throw error(item, join(path, key) + "[" + i + "]", "expected a group id 0.." + Integer.MAX_VALUE + ", found "
                        + (item instanceof YamlNode.Scalar sc ? "\"" + sc.text() + "\"" : item.kind()));
            }
            if (out.contains(gid)) {
                throw error(item, join(path, key) + "[" + i + "]", "expected each group id once, found " + gid + " again");
            }
            out.add(gid);
        }
        return out;
    }

    private List<Integer> signalList(YamlNode.Mapping m, String key, String path) throws SpecException {
        YamlNode.Sequence seq = optionalSequence(m, key, path);
        if (seq == null) return List.of();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < seq.items().size(); i++) {
            YamlNode item = seq.items().get(i);
            if (item instanceof YamlNode.Scalar sc && sc.token() == JsonToken.VALUE_NUMBER_INT) {
                try {
                    int n = Integer.parseInt(sc.text());
                    if (n >= 1 && n <= 64) {
                        out.add(n);
                        continue;
                    }
                } catch (NumberFormatException ignored) {
                    // falls through to the error below
                }
            }
            throw error(item, join(path, key) + "[" + i + "]", "expected a signal number 1..64, found " + item.kind());
        }
        return out;
    }

    private Port port(YamlNode node, String path) throws SpecException {
        if (node instanceof YamlNode.Scalar s) {
            return new Port(portNumber(s, path), "TCP");
        }
        YamlNode.Mapping m = mapping(node, path, Set.of("containerPort", "protocol", "name"));
        YamlNode.Entry portEntry = m.entries().get("containerPort");
        if (portEntry == null) throw error(m, path + ".containerPort", "expected a port number, found none");
        int number = portNumber(portEntry.value(), path + ".containerPort");
        String protocol = optionalScalar(m, "protocol", path);
        protocol = protocol == null ? "TCP" : protocol.toUpperCase(java.util.Locale.ROOT);
        if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
            throw error(m.entries().get("protocol").value(), path + ".protocol", "expected TCP or UDP, found \"" + protocol + "\"");
        }
        return new Port(number, protocol);
    }

    private int portNumber(YamlNode node, String path) throws SpecException {
        if (node instanceof YamlNode.Scalar s && s.token() == JsonToken.VALUE_NUMBER_INT) {
            try {
                int n = Integer.parseInt(s.text());
                if (n >= 1 && n <= 65535) return n;
            } catch (NumberFormatException ignored) {
                // falls through to the error below
            }
        }
        throw error(node, path, "expected a port number 1..65535, found " + node.kind());
    }

    // ---- typed access with located errors --------------------------------------------------

    private YamlNode.Mapping mapping(YamlNode node, String path, Set<String> allowed) throws SpecException {
        if (!(node instanceof YamlNode.Mapping m)) {
            throw error(node, path, "expected a mapping, found " + node.kind());
        }
        if (allowed != null) {
            for (Map.Entry<String, YamlNode.Entry> e : m.entries().entrySet()) {
                if (!allowed.contains(e.getKey())) {
                    throw new SpecException(file, e.getValue().line(), e.getValue().column(), join(path, e.getKey()),
                            "expected one of " + (allowed.isEmpty() ? "no fields" : String.join(", ", allowed.stream().sorted().toList()))
                                    + ", found unknown field \"" + e.getKey() + "\"");
                }
            }
        }
        return m;
    }

    private String requiredString(YamlNode.Mapping m, String key, String path) throws SpecException {
        YamlNode.Entry e = m.entries().get(key);
        if (e == null) {
            throw error(m, join(path, key), "expected a value, found the field missing");
        }
        String s = scalarText(e.value(), join(path, key));
        if (s == null || s.isEmpty()) {
            throw error(e.value(), join(path, key), "expected a non-empty value, found " + e.value().kind());
        }
        return s;
    }

    private String optionalScalar(YamlNode.Mapping m, String key, String path) throws SpecException {
        YamlNode.Entry e = m.entries().get(key);
        return e == null ? null : scalarText(e.value(), join(path, key));
    }

    /** Text of a string or number scalar (YAML "8080" and 8080 both mean the text 8080); null for null. */
    private String scalarText(YamlNode node, String path) throws SpecException {
        if (node instanceof YamlNode.Scalar s) {
            if (s.token() == JsonToken.VALUE_NULL) return null;
            return s.text();
        }
        throw error(node, path, "expected a single value, found " + node.kind());
    }

    private boolean optionalBoolean(YamlNode.Mapping m, String key, String path) throws SpecException {
        YamlNode.Entry e = m.entries().get(key);
        if (e == null) return false;
        if (e.value() instanceof YamlNode.Scalar s && (s.token() == JsonToken.VALUE_TRUE || s.token() == JsonToken.VALUE_FALSE)) {
            return s.token() == JsonToken.VALUE_TRUE;
        }
        throw error(e.value(), join(path, key), "expected true or false, found " + e.value().kind());
    }

    private YamlNode.Sequence optionalSequence(YamlNode.Mapping m, String key, String path) throws SpecException {
        YamlNode.Entry e = m.entries().get(key);
        if (e == null) return null;
        if (e.value() instanceof YamlNode.Scalar s && s.token() == JsonToken.VALUE_NULL) return null;
        if (!(e.value() instanceof YamlNode.Sequence seq)) {
            throw error(e.value(), join(path, key), "expected a list, found " + e.value().kind());
        }
        return seq;
    }

    private List<String> stringList(YamlNode.Mapping m, String key, String path) throws SpecException {
        YamlNode.Sequence seq = optionalSequence(m, key, path);
        if (seq == null) return List.of();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < seq.items().size(); i++) {
            YamlNode item = seq.items().get(i);
            String s = scalarText(item, join(path, key) + "[" + i + "]");
            if (s == null) {
                throw error(item, join(path, key) + "[" + i + "]", "expected a string, found nothing (null)");
            }
            out.add(s);
        }
        return out;
    }

    private SpecException error(YamlNode at, String field, String problem) {
        return new SpecException(file, at.line(), at.column(), field, problem);
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }
}
