package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns a denial into an explanation a person can act on. The framework decides; this class
 * only re-reads the policy containers to say WHICH field failed against the closest
 * container, with expected and actual values. It mirrors the framework's matching rules
 * (anchored RE2, sandbox:// sources, set-equal options and capabilities).
 */
final class Explainer {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final JsonNode containers;
    private final JsonNode externalProcesses;
    private final EnforcerOptions options;

    Explainer(JsonNode containers, JsonNode externalProcesses, EnforcerOptions options) {
        this(containers, externalProcesses, options, null, null);
    }

    /**
     * {@code criDefaultMounts}/{@code criPrivilegedMounts}: the framework's mounts every
     * container (every elevated container) gets whatever its policy says, as the framework
     * declares them ({@code data.framework.cri_default_mounts}, {@code cri_privileged_mounts}).
     */
    Explainer(JsonNode containers, JsonNode externalProcesses, EnforcerOptions options, JsonNode criDefaultMounts,
              JsonNode criPrivilegedMounts) {
        this.containers = containers == null ? F.arrayNode() : containers;
        this.externalProcesses = externalProcesses == null ? F.arrayNode() : externalProcesses;
        this.options = options;
        this.criDefaultMounts = criDefaultMounts == null ? F.arrayNode() : criDefaultMounts;
        this.criPrivilegedMounts = criPrivilegedMounts == null ? F.arrayNode() : criPrivilegedMounts;
    }

    private final JsonNode criDefaultMounts;
    private final JsonNode criPrivilegedMounts;

    /** A field mismatch against one container. */
    record Mismatch(String field, String expected, String actual) {}

    /** How framework.rego's refusal of stdin begins (both of its stdin errors). */
    static final String STDIN_REFUSED = "stdin is not allowed by the policy";

    Explanation explain(String rule, List<String> errors, ObjectNode input, ObjectNode metadata) {
        return switch (rule) {
            case "mount_device" -> mountDevice(errors, input, metadata);
            case "mount_overlay" -> mountOverlay(errors, input, metadata);
            case "create_container" -> create(errors, input, metadata);
            case "exec_in_container" -> errors.stream().anyMatch(e -> e.startsWith(STDIN_REFUSED))
                    ? flag(rule, errors, "allow_stdin") : exec(errors, input, metadata);
            case "write_exec_stdin" -> metadata.path("started").has(text(input.get("containerID")))
                    ? flag(rule, errors, "allow_stdin")
                    : new Explanation(rule, errors, "containerID", "a container whose create_container decision is committed",
                            text(input.get("containerID")), null);
            case "read_exec_output" -> new Explanation(rule, errors, "containerID",
                    "a container whose create_container decision is committed", text(input.get("containerID")), null);
            case "signal_container_process" -> signal(errors, input, metadata);
            case "exec_external" -> external(errors, input);
            case "unmount_device" -> unmountDevice(errors, input, metadata);
            case "shutdown_container" -> new Explanation(rule, errors, "containerID", "a running container",
                    text(input.get("containerID")) + (metadata.path("started").has(text(input.get("containerID")))
                            ? " (already shut down)" : " (never created)"), null);
            case "get_properties" -> flag(rule, errors, "allow_properties_access");
            case "dump_stacks" -> flag(rule, errors, "allow_dump_stacks");
            case "runtime_logging", "read_decision_log" -> flag(rule, errors, "allow_runtime_logging");
            case "start_container", "wait_container" -> new Explanation(rule, errors, "containerID",
                    "a container whose create_container decision is committed" + (rule.equals("start_container")
                            ? " and that has not been started or shut down" : ""),
                    text(input.get("containerID")), null);
            // only a policy's own rule refuses these (the framework allows them): name that rule
            case "get_report", "shutdown_sandbox" -> new Explanation(rule, errors, "policy." + rule,
                    "the framework's rule (allowed)", "the policy's own rule, which refuses it", null);
            case "read_logs" -> metadata.path("started").has(text(input.get("containerID")))
                    ? new Explanation(rule, errors, "allow_stdio_access", "true", "false", null)
                    : new Explanation(rule, errors, "containerID", "a container whose create_container decision is committed",
                            text(input.get("containerID")), null);
            case "scratch_mount" -> errors.stream().anyMatch(e -> e.contains("unencrypted"))
                    ? new Explanation(rule, errors, "encrypted", "true", text(input.get("encrypted")), null)
                    : new Explanation(rule, errors, null, null, null, null);
            default -> new Explanation(rule, errors, null, null, null, null);
        };
    }

    private static Explanation flag(String rule, List<String> errors, String flag) {
        return new Explanation(rule, errors, "policy." + flag, "true", "false", null);
    }

    private Explanation mountDevice(List<String> errors, ObjectNode input, ObjectNode metadata) {
        String hash = text(input.get("deviceHash"));
        String target = text(input.get("target"));
        Set<String> known = new HashSet<>();
        containers.forEach(c -> c.path("layers").forEach(l -> known.add(l.asText())));
        if (!known.contains(hash)) {
            return new Explanation("mount_device", errors, "deviceHash",
                    "one of the " + known.size() + " layer hashes in the policy", hash, null);
        }
        if (metadata.path("devices").has(target)) {
            return new Explanation("mount_device", errors, "target", "a target with no device mounted",
                    target + " (holds " + metadata.path("devices").get(target).asText() + ")", null);
        }
        return new Explanation("mount_device", errors, "target",
                "a path matching " + options.layerMountPathRegex(), target, null);
    }

    private Explanation unmountDevice(List<String> errors, ObjectNode input, ObjectNode metadata) {
        String target = text(input.get("unmountTarget"));
        if (!metadata.path("devices").has(target)) {
            return new Explanation("unmount_device", errors, "unmountTarget",
                    "one of the mounted devices " + keys(metadata.path("devices")), target, null);
        }
        List<String> overlays = new ArrayList<>();
        metadata.path("overlayLayers").fields().forEachRemaining(e -> {
            for (JsonNode p : e.getValue()) {
                if (p.asText().equals(target)) overlays.add(e.getKey());
            }
        });
        return new Explanation("unmount_device", errors, "unmountTarget", "a device no mounted overlay uses",
                target + " (a layer of overlay " + String.join(", ", overlays) + ")", null);
    }

    private Explanation mountOverlay(List<String> errors, ObjectNode input, ObjectNode metadata) {
        String id = text(input.get("containerID"));
        if (metadata.path("started").has(id) || metadata.path("matches").has(id)) {
            return new Explanation("mount_overlay", errors, "containerID", "a container ID not used before", id, null);
        }
        String target = text(input.get("target"));
        if (metadata.path("overlayTargets").has(target)) {
            return new Explanation("mount_overlay", errors, "target", "a target no overlay is mounted at", target, null);
        }
        // the layers the host's paths actually hold, base first as in the policy
        List<String> actual = new ArrayList<>();
        JsonNode paths = input.path("layerPaths");
        for (int i = paths.size() - 1; i >= 0; i--) {
            JsonNode dev = metadata.path("devices").get(paths.get(i).asText());
            actual.add(dev == null ? "<nothing mounted at " + paths.get(i).asText() + ">" : dev.asText());
        }
        JsonNode best = null;
        int bestScore = Integer.MIN_VALUE;
        for (JsonNode c : containers) {
            List<String> layers = strings(c.path("layers"));
            int common = 0;
            while (common < layers.size() && common < actual.size() && layers.get(common).equals(actual.get(common))) {
                common++;
            }
            int score = common * 1000 - Math.abs(layers.size() - actual.size());
            if (score > bestScore) {
                bestScore = score;
                best = c;
            }
        }
        if (best == null) {
            return new Explanation("mount_overlay", errors, null, null, null, null);
        }
        return new Explanation("mount_overlay", errors, "layerPaths (as layer hashes, base first)",
                strings(best.path("layers")).toString(), actual.toString(), describe(best));
    }

    private List<JsonNode> candidates(ObjectNode input, ObjectNode metadata) {
        JsonNode matches = metadata.path("matches").get(text(input.get("containerID")));
        List<JsonNode> out = new ArrayList<>();
        (matches != null && matches.isArray() && !matches.isEmpty() ? matches : containers).forEach(out::add);
        return out;
    }

    private Explanation create(List<String> errors, ObjectNode input, ObjectNode metadata) {
        String id = text(input.get("containerID"));
        if (metadata.path("started").has(id)) {
            return new Explanation("create_container", errors, "containerID", "a container ID not used before",
                    id + " (already created)", null);
        }
        if (!metadata.path("matches").has(id)) {
            return new Explanation("create_container", errors, "containerID",
                    "a container whose overlay was mounted (mount_overlay first)", id, null);
        }
        if (input.path("devices").size() > 0) {
            return new Explanation("create_container", errors, "devices", "[]", input.get("devices").toString(), null);
        }
        return closest("create_container", errors, candidates(input, metadata), c -> createMismatches(c, input));
    }

    private Explanation exec(List<String> errors, ObjectNode input, ObjectNode metadata) {
        String id = text(input.get("containerID"));
        if (!metadata.path("started").has(id)) {
            return new Explanation("exec_in_container", errors, "containerID", "a started container", id, null);
        }
        if (!metadata.path("matches").has(id)) {
            return new Explanation("exec_in_container", errors, "containerID", "a running container", id + " (shut down)", null);
        }
        return closest("exec_in_container", errors, candidates(input, metadata), c -> {
            List<Mismatch> m = new ArrayList<>();
            List<List<String>> allowed = new ArrayList<>();
            c.path("exec_processes").forEach(p -> allowed.add(strings(p.path("command"))));
            List<String> argv = strings(input.path("argList"));
            if (!allowed.contains(argv)) {
                m.add(new Mismatch("argList", allowed.isEmpty() ? "no exec allowed (exec_processes is empty)"
                        : "one of " + allowed, argv.toString()));
            }
            if (!c.path("working_dir").asText().equals(text(input.get("workingDir")))) {
                m.add(new Mismatch("workingDir", quote(c.path("working_dir").asText()), quote(text(input.get("workingDir")))));
            }
            envMismatch(c.path("env_rules"), input.path("envList")).ifPresent(m::add);
            return m;
        });
    }

    private Explanation signal(List<String> errors, ObjectNode input, ObjectNode metadata) {
        String id = text(input.get("containerID"));
        if (!metadata.path("started").has(id) || !metadata.path("matches").has(id)) {
            return new Explanation("signal_container_process", errors, "containerID", "a running container", id, null);
        }
        boolean init = input.path("isInitProcess").asBoolean(false);
        return closest("signal_container_process", errors, candidates(input, metadata), c -> {
            List<Integer> allowed = new ArrayList<>();
            if (init) {
                c.path("signals").forEach(s -> allowed.add(s.asInt()));
            } else {
                List<String> argv = strings(input.path("argList"));
                c.path("exec_processes").forEach(p -> {
                    if (strings(p.path("command")).equals(argv)) p.path("signals").forEach(s -> allowed.add(s.asInt()));
                });
            }
            return allowed.contains(input.path("signal").asInt())
                    ? List.of()
                    : List.of(new Mismatch("signal", "one of " + allowed + (init ? " (init process)" : " (exec'd process)"),
                            input.path("signal").asText()));
        });
    }

    private Explanation external(List<String> errors, ObjectNode input) {
        List<List<String>> allowed = new ArrayList<>();
        externalProcesses.forEach(p -> allowed.add(strings(p.path("command"))));
        return new Explanation("exec_external", errors, "argList",
                allowed.isEmpty() ? "no external process allowed" : "one of " + allowed,
                strings(input.path("argList")).toString(), null);
    }

    private interface MismatchFinder {
        List<Mismatch> find(JsonNode container);
    }

    private Explanation closest(String rule, List<String> errors, List<JsonNode> candidates, MismatchFinder finder) {
        JsonNode best = null;
        List<Mismatch> bestMismatches = null;
        for (JsonNode c : candidates) {
            List<Mismatch> m = finder.find(c);
            if (bestMismatches == null || m.size() < bestMismatches.size()) {
                best = c;
                bestMismatches = m;
            }
        }
        if (best == null) {
            return new Explanation(rule, errors, null, null, null, null);
        }
        if (bestMismatches.isEmpty()) {
            // every field matches one container on its own, yet no container matches all of them
            return new Explanation(rule, errors, null, null, null, describe(best));
        }
        Mismatch first = bestMismatches.getFirst();
        return new Explanation(rule, errors, first.field(), first.expected(), first.actual(), describe(best));
    }

    List<Mismatch> createMismatches(JsonNode c, ObjectNode input) {
        List<Mismatch> m = new ArrayList<>();
        List<String> command = strings(c.path("command"));
        List<String> argv = strings(input.path("argList"));
        if (!command.equals(argv)) {
            m.add(new Mismatch("argList", command.toString(), argv.toString()));
        }
        envMismatch(c.path("env_rules"), input.path("envList")).ifPresent(m::add);
        if (!c.path("working_dir").asText().equals(text(input.get("workingDir")))) {
            m.add(new Mismatch("workingDir", quote(c.path("working_dir").asText()), quote(text(input.get("workingDir")))));
        }
        for (JsonNode mount : input.path("mounts")) {
            java.util.Optional<Mismatch> content = contentMismatch(c.path("mounts"), mount);
            if (content.isPresent()) {
                m.add(content.get());
                break;
            }
            if (!mountAllowed(c.path("mounts"), c.path("allow_elevated").asBoolean(false), mount)) {
                List<String> allowed = new ArrayList<>();
                c.path("mounts").forEach(a -> allowed.add(a.path("destination").asText() + " <- " + a.path("source").asText()
                        + " " + strings(a.path("options"))));
                m.add(new Mismatch("mounts", allowed.isEmpty() ? "no mounts besides the CRI defaults" : "one of " + allowed,
                        mount.path("destination").asText() + " <- " + mount.path("source").asText() + " "
                                + strings(mount.path("options"))));
                break;
            }
        }
        boolean privileged = input.path("privileged").asBoolean(false);
        if (privileged && !c.path("allow_elevated").asBoolean(false)) {
            m.add(new Mismatch("privileged", "false (allow_elevated is false)", "true"));
        }
        if (c.path("no_new_privileges").asBoolean(false) && !input.path("noNewPrivileges").asBoolean(false)) {
            m.add(new Mismatch("noNewPrivileges", "true", "false"));
        }
        JsonNode user = c.get("user");
        if (user != null && !user.isNull()) {
            if (!user.path("umask").asText().equals(text(input.get("umask")))) {
                m.add(new Mismatch("umask", quote(user.path("umask").asText()), quote(text(input.get("umask")))));
            }
            JsonNode idName = user.path("user_idname");
            if (!idNameOk(idName, input.path("user"))) {
                m.add(new Mismatch("user", idName.path("strategy").asText() + " " + quote(idName.path("pattern").asText()),
                        input.path("user").toString()));
            }
            for (JsonNode g : input.path("groups")) {
                boolean ok = false;
                for (JsonNode allowed : user.path("group_idnames")) ok |= idNameOk(allowed, g);
                if (!ok) {
                    m.add(new Mismatch("groups", user.path("group_idnames").toString(), g.toString()));
                    break;
                }
            }
        }
        JsonNode caps = c.path("capabilities");
        if (!caps.isNull() && !caps.isMissingNode()) {
            for (String set : List.of("bounding", "effective", "inheritable", "permitted", "ambient")) {
                List<String> want = strings(caps.path(set));
                List<String> got = strings(input.path("capabilities").path(set));
                if (!new HashSet<>(want).equals(new HashSet<>(got)) || new HashSet<>(got).size() != got.size()
                        || want.size() != got.size()) {
                    m.add(new Mismatch("capabilities." + set, want.toString(), got.toString()));
                    break;
                }
            }
        }
        String seccomp = c.path("seccomp_profile_sha256").asText("");
        String reported = input.path("seccompProfileSHA256").asText("");
        // "" in the policy is the runtime default, which the agent reports by its hash
        boolean runtimeDefault = seccomp.isEmpty() && reported.equals(input.path("runtimeDefaultSeccompProfileSHA256").asText(null));
        if (!seccomp.equals(reported) && !runtimeDefault) {
            m.add(new Mismatch("seccompProfileSHA256", quote(seccomp), quote(input.path("seccompProfileSHA256").asText(""))));
        }
        return m;
    }

    private static boolean idNameOk(JsonNode rule, JsonNode value) {
        String pattern = rule.path("pattern").asText();
        return switch (rule.path("strategy").asText()) {
            case "any" -> true;
            case "id" -> pattern.equals(value.path("id").asText(null));
            case "name" -> pattern.equals(value.path("name").asText(null));
            case "re2" -> re2(pattern, value.path("name").asText(""));
            default -> false;
        };
    }

    /**
     * Where {@code mount} matches a constraint in all but its pinned files: the first file that
     * differs, is missing or is extra, by name (so a changed ConfigMap key is named, not the volume).
     */
    private java.util.Optional<Mismatch> contentMismatch(JsonNode allowed, JsonNode mount) {
        for (JsonNode a : allowed) {
            JsonNode pinned = a.get("files");
            if (pinned == null || pinned.isNull() || !mountMatches(a, mount)) continue;
            java.util.Map<String, String> want = digests(pinned);
            java.util.Map<String, String> got = digests(mount.path("files"));
            if (want.equals(got)) return java.util.Optional.empty();
            String where = "mounts[" + mount.path("destination").asText() + "].files";
            for (var e : want.entrySet()) {
                String found = got.get(e.getKey());
                if (found == null) {
                    return java.util.Optional.of(new Mismatch(where, "file " + e.getKey() + " (sha256 " + e.getValue() + ")",
                            "no file " + e.getKey()));
                }
                if (!found.equals(e.getValue())) {
                    return java.util.Optional.of(new Mismatch(where, "file " + e.getKey() + " with sha256 " + e.getValue(),
                            "file " + e.getKey() + " with sha256 " + found + " (its content changed)"));
                }
            }
            for (String path : got.keySet()) {
                if (!want.containsKey(path)) {
                    return java.util.Optional.of(new Mismatch(where, "only the files " + want.keySet(), "file " + path + " too"));
                }
            }
        }
        return java.util.Optional.empty();
    }

    private static java.util.Map<String, String> digests(JsonNode files) {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        for (JsonNode f : files) out.put(f.path("path").asText(), f.path("sha256").asText());
        return out;
    }

    private boolean mountAllowed(JsonNode allowed, boolean allowElevated, JsonNode mount) {
        for (JsonNode a : allowed) {
            if (mountAllowedWithFiles(a, mount)) return true;
        }
        for (JsonNode d : criDefaultMounts) {
            if (mountMatches(d, mount)) return true;
        }
        if (allowElevated) {
            for (JsonNode d : criPrivilegedMounts) {
                if (mountMatches(d, mount)) return true;
            }
        }
        return false;
    }

    private boolean mountMatches(JsonNode constraint, JsonNode mount) {
        if (!constraint.path("type").asText().equals(mount.path("type").asText())) return false;
        if (!constraint.path("destination").asText().equals(mount.path("destination").asText())) return false;
        String src = constraint.path("source").asText();
        boolean sourceOk = src.startsWith("sandbox://")
                ? re2(src.replace("sandbox://", options.sandboxDir()), mount.path("source").asText())
                : src.equals(mount.path("source").asText());
        List<String> want = strings(constraint.path("options"));
        List<String> got = strings(mount.path("options"));
        return sourceOk && want.size() == got.size() && new HashSet<>(want).equals(new HashSet<>(got));
    }

    /** As the framework's mountConstraint_ok: {@link #mountMatches} and, where the constraint pins files, exactly those. */
    private boolean mountAllowedWithFiles(JsonNode constraint, JsonNode mount) {
        JsonNode pinned = constraint.get("files");
        return mountMatches(constraint, mount)
                && (pinned == null || pinned.isNull() || digests(pinned).equals(digests(mount.path("files"))));
    }

    private static java.util.Optional<Mismatch> envMismatch(JsonNode rules, JsonNode envList) {
        List<String> env = strings(envList);
        for (String e : env) {
            boolean ok = false;
            for (JsonNode r : rules) ok |= envRuleOk(r, e);
            if (!ok) {
                String name = e.indexOf('=') < 0 ? e : e.substring(0, e.indexOf('='));
                String expected = "no variable " + name;
                for (JsonNode r : rules) {
                    String p = r.path("pattern").asText();
                    if (p.startsWith(name + "=") || p.startsWith(Re2Quote.quote(name) + "=")) {
                        expected = quote(p) + " (" + r.path("strategy").asText() + ")";
                        break;
                    }
                }
                // the value is withheld: reasons are logged, and env values may be secrets
                return java.util.Optional.of(new Mismatch("envList", expected,
                        quote(name + (e.indexOf('=') < 0 ? "" : "=<value withheld>"))));
            }
        }
        for (JsonNode r : rules) {
            if (r.path("required").asBoolean(false)) {
                boolean present = false;
                for (String e : env) present |= envRuleOk(r, e);
                if (!present) {
                    return java.util.Optional.of(new Mismatch("envList", "a variable matching " + quote(r.path("pattern").asText())
                            + " (required)", "none"));
                }
            }
        }
        return java.util.Optional.empty();
    }

    private static boolean envRuleOk(JsonNode rule, String env) {
        String p = rule.path("pattern").asText();
        return switch (rule.path("strategy").asText()) {
            case "string" -> p.equals(env);
            case "re2" -> re2(p, env);
            default -> false;
        };
    }

    /** The framework's anchor_pattern + regex.match. */
    static boolean re2(String pattern, String value) {
        String anchored = pattern;
        if (!anchored.startsWith("^")) anchored = "^" + anchored;
        if (!anchored.endsWith("$")) anchored = anchored + "$";
        try {
            return com.google.re2j.Pattern.compile(anchored).matcher(value).find();
        } catch (com.google.re2j.PatternSyntaxException e) {
            return false;
        }
    }

    private static String describe(JsonNode container) {
        return quote(container.path("name").asText("?")) + " (image " + container.path("id").asText("?") + ")";
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<String> keys(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? "null" : n.asText();
    }

    private static String quote(String s) {
        return "\"" + s + "\"";
    }
}
