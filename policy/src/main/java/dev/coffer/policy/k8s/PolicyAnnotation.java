package dev.coffer.policy.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Writes policies into a manifest as the pod template annotation {@value #KEY} (base64 of the
 * Rego text, as Kata's genpolicy and {@code az confcom katapolicygen} write it), changing nothing
 * else: the text is edited where the template's metadata is, so comments, order and formatting
 * stay. An annotation already there is replaced. The result is parsed again and compared with
 * the input (less the annotation) before it is returned, so an edit that would change anything
 * else is refused instead of written.
 */
public final class PolicyAnnotation {
    /** The annotation the shim reads the pod's policy from. */
    public static final String KEY = "io.katacontainers.config.agent.policy";

    private PolicyAnnotation() {}

    private record Edit(int start, int end, String text) {}

    /**
     * The manifest's text with {@code values} (workload id → base64 policy) set as each workload's annotation.
     *
     * @throws ManifestException when a template's metadata is written in a form this cannot edit in place
     */
    public static String inject(KubernetesManifest manifest, Map<String, String> values) throws ManifestException {
        String text = manifest.text();
        String nl = text.contains("\r\n") ? "\r\n" : "\n";
        List<Edit> edits = new ArrayList<>();
        List<Workload> workloads = manifest.workloads();
        for (Workload w : workloads) {
            String value = values.get(w.id());
            if (value == null) continue;
            if (!value.matches("[A-Za-z0-9+/=]*")) throw new IllegalArgumentException("expected base64, found another value for " + w.id());
            edits.add(edit(text, manifest.source() + " " + w.id(), w.templateNode(), "\"" + value + "\"", nl));
        }
        edits.sort(Comparator.comparingInt(Edit::start).reversed());
        StringBuilder out = new StringBuilder(text);
        for (Edit e : edits) out.replace(e.start(), e.end(), e.text());
        String result = out.toString();
        verify(manifest, result, values);
        return result;
    }

    /** The annotation's value in each workload's template (workload id → value), for reading back what was injected. */
    public static Map<String, String> read(KubernetesManifest manifest) throws ManifestException {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (Workload w : manifest.workloads()) {
            JsonNode v = w.template().path("metadata").path("annotations").path(KEY);
            if (v.isTextual()) out.put(w.id(), v.asText());
        }
        return out;
    }

    private static Edit edit(String text, String where, Node template, String value, String nl) throws ManifestException {
        Node metadata = KubernetesManifest.child(template, "metadata");
        if (metadata == null) {
            return insertEntry(text, where, template, "metadata", List.of("annotations:", "  " + KEY + ": " + value), nl);
        }
        if (!(metadata instanceof MappingNode)) {
            throw new ManifestException(where + ": expected the pod template's metadata to be a mapping, found " + metadata.getNodeId());
        }
        Node annotations = KubernetesManifest.child(metadata, "annotations");
        if (annotations == null) {
            return insertEntry(text, where, metadata, "annotations", List.of(KEY + ": " + value), nl);
        }
        if (annotations instanceof ScalarNode s && s.getValue().isEmpty()) {
            // "annotations:" with nothing after it: a flow mapping in its place keeps the line
            return new Edit(index(text, s.getStartMark().getIndex()), index(text, s.getEndMark().getIndex()),
                    " {" + KEY + ": " + value + "}");
        }
        if (!(annotations instanceof MappingNode a)) {
            throw new ManifestException(where + ": expected metadata.annotations to be a mapping, found " + annotations.getNodeId());
        }
        for (NodeTuple t : a.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(KEY)) {
                Node old = t.getValueNode();
                return new Edit(index(text, old.getStartMark().getIndex()), index(text, old.getEndMark().getIndex()), value);
            }
        }
        return insertEntry(text, where, a, null, List.of(KEY + ": " + value), nl);
    }

    /**
     * Adds an entry to {@code mapping}: {@code key:} followed by {@code lines} indented under it, or
     * (key null) the lines themselves as entries, before the mapping's first entry.
     */
    private static Edit insertEntry(String text, String where, Node mappingNode, String key, List<String> lines, String nl)
            throws ManifestException {
        if (!(mappingNode instanceof MappingNode mapping)) {
            throw new ManifestException(where + ": expected a mapping to add the policy annotation to, found " + mappingNode.getNodeId());
        }
        if (mapping.getFlowStyle() == DumperOptions.FlowStyle.FLOW) {
            int open = index(text, mapping.getStartMark().getIndex());
            if (text.charAt(open) != '{') throw new ManifestException(where + ": cannot find the '{' of a flow mapping to edit");
            String entry = key == null ? lines.getFirst() : key + ": {" + flow(lines) + "}";
            return new Edit(open + 1, open + 1, entry + (mapping.getValue().isEmpty() ? "" : ", "));
        }
        if (mapping.getValue().isEmpty()) {
            throw new ManifestException(where + ": expected a mapping with entries, found an empty one");
        }
        Node firstKey = mapping.getValue().getFirst().getKeyNode();
        int keyIndex = index(text, firstKey.getStartMark().getIndex());
        int column = firstKey.getStartMark().getColumn();
        String indent = " ".repeat(column);
        // inserted just before the first key, which stays at its column on the line after the new entry
        StringBuilder sb = new StringBuilder();
        if (key != null) {
            sb.append(key).append(':');
            for (String l : lines) sb.append(nl).append(indent).append("  ").append(l);
        } else {
            for (int i = 0; i < lines.size(); i++) sb.append(i == 0 ? "" : nl + indent).append(lines.get(i));
        }
        sb.append(nl).append(indent);
        return new Edit(keyIndex, keyIndex, sb.toString());
    }

    private static String flow(List<String> lines) {
        // the one nested line "  KEY: value" of an annotations block, as a flow entry
        return lines.getLast().strip();
    }

    /** SnakeYAML counts code points; Java strings index UTF-16 units. */
    private static int index(String text, int codePointIndex) {
        return text.offsetByCodePoints(0, codePointIndex);
    }

    /** Parses the edited text and checks it is the input with only the annotations changed. */
    private static void verify(KubernetesManifest before, String text, Map<String, String> values) throws ManifestException {
        KubernetesManifest after = KubernetesManifest.parse(text, before.source() + " (with the policy annotation)");
        List<KubernetesManifest.Document> a = before.documents();
        List<KubernetesManifest.Document> b = after.documents();
        if (a.size() != b.size()) throw new IllegalStateException("injecting the annotation changed the number of documents");
        List<Workload> wa = before.workloads();
        List<Workload> wb = after.workloads();
        for (int i = 0; i < wb.size(); i++) {
            String expected = values.get(wb.get(i).id());
            JsonNode got = wb.get(i).template().path("metadata").path("annotations").path(KEY);
            if (expected != null && !got.asText("").equals(expected)) {
                throw new IllegalStateException("the injected annotation of " + wb.get(i).id() + " does not read back; nothing written");
            }
        }
        for (int i = 0; i < a.size(); i++) {
            if (!strip(a.get(i).value(), before, i).equals(strip(b.get(i).value(), after, i))) {
                throw new IllegalStateException("injecting the annotation would change document " + (i + 1)
                        + " beyond the annotation; nothing written (report this with the file)");
            }
        }
        if (wa.size() != wb.size()) throw new IllegalStateException("injecting the annotation changed the workloads");
    }

    /** A document's value without the policy annotation (and without annotations/metadata it leaves empty). */
    private static JsonNode strip(JsonNode doc, KubernetesManifest m, int index) {
        JsonNode copy = doc.deepCopy();
        WorkloadKind kind = WorkloadKind.of(copy.path("kind").asText());
        if (kind == null) return copy;
        JsonNode template = copy;
        for (String f : kind.templatePath()) template = template.path(f);
        if (template.path("metadata") instanceof ObjectNode meta) {
            if (meta.path("annotations") instanceof ObjectNode ann) {
                ann.remove(KEY);
                if (ann.isEmpty()) meta.remove("annotations");
            } else if (meta.path("annotations").isNull() || meta.path("annotations").asText("x").isEmpty()) {
                meta.remove("annotations");
            }
            if (meta.isEmpty() && template instanceof ObjectNode t) t.remove("metadata");
        }
        return copy;
    }
}
