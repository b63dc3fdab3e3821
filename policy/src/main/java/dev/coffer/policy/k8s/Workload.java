package dev.coffer.policy.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import org.yaml.snakeyaml.nodes.Node;

/**
 * One pod template of a manifest: the workload that owns it, and the template itself ({@code
 * metadata} and {@code spec} as JSON; its YAML node, for injecting the annotation in place).
 *
 * @param document 1-based index of the YAML document in the file
 */
public record Workload(WorkloadKind kind, String name, String namespace, int document, JsonNode template, Node templateNode) {
    /** {@code Kind/name}, as kubectl names objects. */
    public String id() {
        return kind.kind() + "/" + name;
    }

    public JsonNode podSpec() {
        return template.path("spec");
    }
}
