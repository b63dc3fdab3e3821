package dev.coffer.policy.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

import java.io.StringReader;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Kubernetes YAML file (one or several documents) read as the API server would read it, with
 * the position of every node kept so that {@link PolicyAnnotation} can add the policy annotation
 * without rewriting the rest of the text. Its pod templates are {@link #workloads()}; ConfigMaps
 * and Secrets in the same file are kept for the env values that name them.
 *
 * <p>Hostile input is refused rather than interpreted: duplicate keys (two readers could take
 * different values), merge keys ({@code <<}, which not every Kubernetes client applies), alias
 * expansion beyond {@link #MAX_NODES} nodes, and non-string keys.
 */
public final class KubernetesManifest {
    /** More nodes than any real manifest has; an alias bomb hits it long before memory runs out. */
    static final int MAX_NODES = 200_000;

    private final String text;
    private final String source;
    private final List<Document> documents;

    /** One YAML document: its value as JSON and its root node (positions in {@link #text()}). */
    record Document(int index, JsonNode value, Node root) {}

    private KubernetesManifest(String text, String source, List<Document> documents) {
        this.text = text;
        this.source = source;
        this.documents = documents;
    }

    /**
     * Parses {@code text}; {@code source} names it in errors.
     *
     * @throws ManifestException when the YAML is malformed or hostile, naming the document and what to fix
     */
    public static KubernetesManifest parse(String text, String source) throws ManifestException {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(50);
        options.setAllowRecursiveKeys(false);
        options.setCodePointLimit(8 * 1024 * 1024);
        List<Document> docs = new ArrayList<>();
        try {
            int i = 0;
            for (Node root : new Yaml(options).composeAll(new StringReader(text))) {
                i++;
                if (root == null) continue;
                int[] budget = {MAX_NODES};
                docs.add(new Document(i, json(root, source + " document " + i, "", budget, new IdentityHashMap<>()), root));
            }
        } catch (YAMLException e) {
            throw new ManifestException(source + ": not valid YAML: " + oneLine(e.getMessage()) + "; fix the YAML (kubectl would refuse it too)");
        }
        if (docs.isEmpty()) {
            throw new ManifestException(source + ": expected at least one Kubernetes object, found an empty file");
        }
        return new KubernetesManifest(text, source, List.copyOf(docs));
    }

    /** True when the first document is a Kubernetes object (apiVersion and kind), as opposed to, say, a Coffer group spec. */
    public boolean isKubernetes() {
        JsonNode first = documents.getFirst().value();
        return first.isObject() && first.path("apiVersion").isTextual() && first.path("kind").isTextual();
    }

    public String text() {
        return text;
    }

    public String source() {
        return source;
    }

    List<Document> documents() {
        return documents;
    }

    /**
     * The pod templates of the file, in document order: a Pod's own spec; a Deployment's,
     * ReplicaSet's, StatefulSet's, DaemonSet's or Job's {@code spec.template}; a CronJob's
     * {@code spec.jobTemplate.spec.template}. Other kinds (Services, ConfigMaps, ...) have no pod.
     *
     * @throws ManifestException when a workload lacks its pod spec, or a document is not a Kubernetes object
     */
    public List<Workload> workloads() throws ManifestException {
        List<Workload> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Document d : documents) {
            JsonNode v = d.value();
            String where = source + " document " + d.index();
            if (!v.isObject() || !v.path("kind").isTextual() || !v.path("apiVersion").isTextual()) {
                throw new ManifestException(where + ": expected a Kubernetes object with apiVersion and kind, found "
                        + (v.isObject() ? "an object without them" : v.getNodeType().toString().toLowerCase()));
            }
            String kind = v.get("kind").asText();
            if (kind.equals("List") || kind.endsWith("List")) {
                throw new ManifestException(where + ": kind " + kind + " is not supported; write its items as separate documents (---)");
            }
            WorkloadKind wk = WorkloadKind.of(kind);
            if (wk == null) continue;
            String name = v.path("metadata").path("name").asText("");
            if (name.isEmpty()) {
                throw new ManifestException(where + ": expected metadata.name on the " + kind + ", found none");
            }
            if (!seen.add(kind + "/" + name)) {
                throw new ManifestException(where + ": a second " + kind + " named '" + name + "'; names must be unique per kind");
            }
            List<String> path = wk.templatePath();
            JsonNode template = v;
            Node templateNode = d.root();
            for (String field : path) {
                template = template.path(field);
                templateNode = templateNode == null ? null : child(templateNode, field);
            }
            if (!template.isObject() || !template.path("spec").isObject() || templateNode == null) {
                throw new ManifestException(where + ": expected the " + kind + " '" + name + "' to have a pod spec at "
                        + (path.isEmpty() ? "" : String.join(".", path) + ".") + "spec, found none");
            }
            String namespace = v.path("metadata").path("namespace").asText("");
            out.add(new Workload(wk, name, namespace, d.index(), template, templateNode));
        }
        return out;
    }

    /**
     * This file, provided every document is a {@code kind} object with a name (a file of
     * ConfigMaps or Secrets given besides the manifest).
     *
     * @throws ManifestException naming the first document that is something else
     */
    public KubernetesManifest requireOnly(String kind) throws ManifestException {
        for (Document d : documents) {
            JsonNode v = d.value();
            if (!v.path("kind").asText("").equals(kind) || v.path("metadata").path("name").asText("").isEmpty()) {
                throw new ManifestException(source + " document " + d.index() + ": expected a " + kind + " with metadata.name, found "
                        + (v.path("kind").isTextual() ? "a " + v.path("kind").asText() : "no Kubernetes object")
                        + "; give only " + kind + "s in this file");
            }
        }
        return this;
    }

    /** ConfigMaps and Secrets of the file by {@code namespace/name}: values env entries may reference. */
    public Map<String, JsonNode> objectsOfKind(String kind) {
        Map<String, JsonNode> out = new java.util.TreeMap<>();
        for (Document d : documents) {
            JsonNode v = d.value();
            if (v.path("kind").asText().equals(kind)) {
                out.put(v.path("metadata").path("namespace").asText("") + "/" + v.path("metadata").path("name").asText(""), v);
            }
        }
        return out;
    }

    /** The value node of {@code key} in a mapping node, or null. */
    static Node child(Node mapping, String key) {
        if (!(mapping instanceof MappingNode m)) return null;
        for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) return t.getValueNode();
        }
        return null;
    }

    private static JsonNode json(Node node, String where, String path, int[] budget, IdentityHashMap<Node, Boolean> active)
            throws ManifestException {
        if (--budget[0] < 0) {
            throw new ManifestException(where + ": more than " + MAX_NODES + " YAML nodes (after expanding aliases); "
                    + "expected a manifest, found what looks like an alias bomb");
        }
        JsonNodeFactory f = JsonNodeFactory.instance;
        switch (node) {
            case MappingNode m -> {
                if (active.put(m, Boolean.TRUE) != null) {
                    throw new ManifestException(where + ": " + path + " refers to itself (a recursive alias); expected a tree");
                }
                ObjectNode o = f.objectNode();
                for (NodeTuple t : m.getValue()) {
                    if (!(t.getKeyNode() instanceof ScalarNode k) || k.getTag().equals(Tag.NULL)) {
                        throw new ManifestException(where + ": expected string keys at " + (path.isEmpty() ? "the top" : path)
                                + ", found a " + t.getKeyNode().getNodeId() + " key");
                    }
                    if (k.getTag().equals(Tag.MERGE) || k.getValue().equals("<<")) {
                        throw new ManifestException(where + ": merge key '<<' at " + (path.isEmpty() ? "the top" : path)
                                + " is not supported (Kubernetes clients disagree on it); write the fields out");
                    }
                    String key = k.getValue();
                    if (o.has(key)) {
                        throw new ManifestException(where + ": duplicate key '" + key + "' at " + (path.isEmpty() ? "the top" : path)
                                + "; a reader could take either value: remove one");
                    }
                    o.set(key, json(t.getValueNode(), where, path.isEmpty() ? key : path + "." + key, budget, active));
                }
                active.remove(m);
                return o;
            }
            case SequenceNode s -> {
                if (active.put(s, Boolean.TRUE) != null) {
                    throw new ManifestException(where + ": " + path + " refers to itself (a recursive alias); expected a tree");
                }
                ArrayNode a = f.arrayNode();
                int i = 0;
                for (Node item : s.getValue()) a.add(json(item, where, path + "[" + i++ + "]", budget, active));
                active.remove(s);
                return a;
            }
            case ScalarNode sc -> {
                Tag tag = sc.getTag();
                String v = sc.getValue();
                if (tag.equals(Tag.NULL)) return f.nullNode();
                if (tag.equals(Tag.BOOL)) return f.booleanNode(bool(v));
                if (tag.equals(Tag.INT)) {
                    try {
                        return f.numberNode(new BigInteger(v.replace("_", "")));
                    } catch (NumberFormatException e) {
                        return f.textNode(v); // octal/hex/sexagesimal forms: no field of a pod spec takes them
                    }
                }
                if (tag.equals(Tag.FLOAT)) {
                    try {
                        return f.numberNode(new java.math.BigDecimal(v.replace("_", "")));
                    } catch (NumberFormatException e) {
                        return f.textNode(v);
                    }
                }
                return f.textNode(v);
            }
            default -> throw new ManifestException(where + ": unexpected YAML node " + node.getNodeId() + " at " + path);
        }
    }

    private static boolean bool(String v) {
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "on", "y" -> true;
            default -> false;
        };
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\n\\s*", " ").trim();
    }
}
