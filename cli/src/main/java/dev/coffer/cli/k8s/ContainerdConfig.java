package dev.coffer.cli.k8s;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;

import java.io.IOException;
import java.util.List;

/**
 * containerd's config.toml with or without Coffer's CRI runtime. The file is edited as text, so
 * every comment, order and value the operator wrote stays; the TOML library parses the file
 * before and after, and an edit is only returned when the result is the input plus (or minus)
 * exactly Coffer's runtime table. Coffer's lines sit between two marker comments, so uninstall
 * removes what install wrote and nothing an operator wrote.
 */
final class ContainerdConfig {
    /** The runtime name, as Kubernetes' RuntimeClass handler and containerd's runtime table name it. */
    static final String RUNTIME_NAME = "coffer";
    /** containerd maps it to the shim binary containerd-shim-coffer-v2 on its PATH. */
    static final String RUNTIME_TYPE = "io.containerd.coffer.v2";
    /** The shim binary's file name for {@link #RUNTIME_TYPE}. */
    static final String SHIM_BINARY = "containerd-shim-coffer-v2";
    /** Pod annotations the CRI plugin passes to the shim: the pod policy is one. */
    static final List<String> POD_ANNOTATIONS = List.of("io.katacontainers.config.agent.policy", "dev.coffer.*");
    static final String BEGIN = "# >>> coffer k8s install: the Coffer runtime (removed by coffer k8s uninstall) >>>";
    static final String END = "# <<< coffer k8s install <<<";

    /** The CRI plugin's runtime table per config version (containerd 1.x writes 2, containerd 2.x writes 3). */
    static List<String> runtimesPath(int version) {
        return switch (version) {
            case 2 -> List.of("plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes");
            case 3 -> List.of("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes");
            default -> throw new IllegalArgumentException("unsupported version");
        };
    }

    private static final TomlMapper TOML = new TomlMapper();

    private final String text;
    private final String source;
    private final ObjectNode tree;
    private final int version;

    private ContainerdConfig(String text, String source, ObjectNode tree, int version) {
        this.text = text;
        this.source = source;
        this.tree = tree;
        this.version = version;
    }

    /**
     * Parses containerd's config.
     *
     * @throws K8sException when the text is not TOML or not a config this can edit (version 1)
     */
    static ContainerdConfig parse(String text, String source) throws K8sException {
        ObjectNode tree = tree(text, source);
        JsonNode v = tree.path("version");
        int version = v.isMissingNode() ? 1 : v.asInt(-1);
        if (version != 2 && version != 3) {
            throw new K8sException(source + ": expected containerd config version 2 (containerd 1.x) or 3 (containerd 2.x), found "
                    + (v.isMissingNode() ? "none (version 1)" : v.toString()) + "; write `containerd config default` with this"
                    + " containerd and carry your settings over");
        }
        return new ContainerdConfig(text, source, tree, version);
    }

    private static ObjectNode tree(String text, String source) throws K8sException {
        try {
            JsonNode n = TOML.readTree(text);
            return n instanceof ObjectNode o ? o : TOML.createObjectNode();
        } catch (JacksonException e) {
            throw new K8sException(source + ": not valid TOML: " + e.getOriginalMessage() + "; fix the file (containerd would not start with it)");
        } catch (IOException e) {
            throw new K8sException(source + ": not readable as TOML: " + e.getMessage());
        }
    }

    String text() {
        return text;
    }

    int version() {
        return version;
    }

    /** The runtime table's header line, e.g. {@code [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.coffer]}. */
    String header() {
        List<String> p = runtimesPath(version);
        return "[" + p.get(0) + ".\"" + p.get(1) + "\"." + p.get(2) + "." + p.get(3) + "." + RUNTIME_NAME + "]";
    }

    /** The lines install writes, markers included. */
    String block(String nl) {
        StringBuilder sb = new StringBuilder();
        sb.append(BEGIN).append(nl);
        sb.append(header()).append(nl);
        sb.append("  runtime_type = \"").append(RUNTIME_TYPE).append('"').append(nl);
        sb.append("  pod_annotations = [");
        for (int i = 0; i < POD_ANNOTATIONS.size(); i++) sb.append(i == 0 ? "" : ", ").append('"').append(POD_ANNOTATIONS.get(i)).append('"');
        sb.append(']').append(nl);
        sb.append(END).append(nl);
        return sb.toString();
    }

    /** Coffer's runtime table as the file has it, or a missing node. */
    JsonNode runtime() {
        JsonNode n = tree;
        for (String f : runtimesPath(version)) n = n.path(f);
        return n.path(RUNTIME_NAME);
    }

    /** True when the file has Coffer's runtime exactly as install writes it. */
    boolean installed() {
        JsonNode r = runtime();
        return r.isObject() && r.path("runtime_type").asText().equals(RUNTIME_TYPE) && text.contains(BEGIN) && text.contains(END)
                && blockTree().path("plugins").equals(runtimeOnly(r));
    }

    /** The tree of {@link #block}: Coffer's own text, so a parse failure is a bug here, not bad input. */
    private ObjectNode blockTree() {
        try {
            return tree(block("\n"), "the Coffer runtime block");
        } catch (K8sException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private ObjectNode runtimeOnly(JsonNode runtime) {
        ObjectNode root = TOML.createObjectNode();
        ObjectNode n = root;
        List<String> path = runtimesPath(version);
        for (int i = 1; i < path.size(); i++) n = n.putObject(path.get(i));
        n.set(RUNTIME_NAME, runtime.deepCopy());
        return root;
    }

    /**
     * The file with Coffer's runtime added (the same text when it is already there as install writes it).
     *
     * @throws K8sException when the file has a runtime named coffer that install did not write
     */
    String withRuntime() throws K8sException {
        if (installed()) return text;
        String base = text;
        if (text.contains(BEGIN) || text.contains(END)) {
            base = withoutRuntime(); // an older or edited Coffer block: replaced whole
        } else if (!runtime().isMissingNode()) {
            throw new K8sException(source + ": already has a runtime named '" + RUNTIME_NAME + "' (runtime_type "
                    + runtime().path("runtime_type") + ") that coffer k8s install did not write; remove its table " + header()
                    + " and run install again");
        }
        String nl = base.contains("\r\n") ? "\r\n" : "\n";
        String sep = base.isEmpty() || base.endsWith("\n") ? "" : nl;
        String out = base + sep + nl + block(nl);
        ObjectNode before = tree(base, source);
        removeRuntime(before);
        ObjectNode after = tree(out, source + " (with the Coffer runtime)");
        JsonNode added = runtimeAt(after);
        if (!added.path("runtime_type").asText().equals(RUNTIME_TYPE)) {
            throw new K8sException(source + ": the runtime table did not land where containerd reads it; the file defines "
                    + String.join(".", runtimesPath(version)) + " in a form (an inline table?) that cannot be extended; "
                    + "add the table " + header() + " by hand");
        }
        removeRuntime(after);
        if (!after.equals(before)) {
            throw new K8sException(source + ": adding the runtime table would change other settings; nothing written (add "
                    + header() + " by hand)");
        }
        return out;
    }

    /**
     * The file without the lines install wrote (the same text when there are none).
     *
     * @throws K8sException when Coffer's runtime is there but not between the markers (an operator wrote it)
     */
    String withoutRuntime() throws K8sException {
        int begin = text.indexOf(BEGIN);
        if (begin < 0) {
            if (!runtime().isMissingNode()) {
                throw new K8sException(source + ": has a runtime named '" + RUNTIME_NAME + "' that coffer k8s install did not write;"
                        + " remove its table " + header() + " by hand if it should go");
            }
            return text;
        }
        int end = text.indexOf(END, begin);
        if (end < 0) {
            throw new K8sException(source + ": has Coffer's begin marker but not its end marker (\"" + END + "\"); restore it or"
                    + " remove the Coffer runtime's lines by hand");
        }
        int stop = end + END.length();
        if (text.startsWith("\r\n", stop)) stop += 2;
        else if (text.startsWith("\n", stop)) stop += 1;
        int start = begin;
        // the blank line install put before the block goes with it
        if (start >= 2 && text.startsWith("\r\n", start - 2) && start >= 4 && text.startsWith("\r\n", start - 4)) start -= 2;
        else if (start >= 2 && text.charAt(start - 1) == '\n' && text.charAt(start - 2) == '\n') start -= 1;
        String out = text.substring(0, start) + text.substring(stop);
        ObjectNode after = tree(out, source + " (without the Coffer runtime)");
        removeRuntime(after);
        ObjectNode expected = tree.deepCopy();
        removeRuntime(expected);
        if (!after.equals(expected)) {
            throw new K8sException(source + ": the lines between Coffer's markers hold more than its runtime table; nothing"
                    + " written (move your settings out of the marked block)");
        }
        return out;
    }

    private JsonNode runtimeAt(ObjectNode root) {
        JsonNode n = root;
        for (String f : runtimesPath(version)) n = n.path(f);
        return n.path(RUNTIME_NAME);
    }

    /**
     * Removes the runtime table and then every table on its path left empty. Applied to both sides of
     * a comparison, so tables the header implies (absent from a minimal config) compare equal to none.
     */
    private void removeRuntime(ObjectNode root) {
        List<String> path = runtimesPath(version);
        ObjectNode[] chain = new ObjectNode[path.size() + 1];
        chain[0] = root;
        for (int i = 0; i < path.size(); i++) {
            if (!(chain[i].path(path.get(i)) instanceof ObjectNode next)) return;
            chain[i + 1] = next;
        }
        chain[path.size()].remove(RUNTIME_NAME);
        for (int i = path.size(); i > 0 && chain[i].isEmpty(); i--) chain[i - 1].remove(path.get(i - 1));
    }
}
