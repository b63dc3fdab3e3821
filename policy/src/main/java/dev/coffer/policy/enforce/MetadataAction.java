package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One change to the policy state ({@code data.metadata.<name>[<key>]}) that an allowed
 * decision proposes: "add" (the key must be new), "update" (set) or "remove" (the key must exist).
 */
public record MetadataAction(String name, String action, String key, JsonNode value) {
    public MetadataAction {
        if (!action.equals("add") && !action.equals("update") && !action.equals("remove")) {
            throw new IllegalArgumentException("metadata action must be add, update or remove: found '" + action + "'");
        }
    }

    public static MetadataAction fromJson(JsonNode n) {
        JsonNode name = n.get("name"), action = n.get("action"), key = n.get("key");
        if (name == null || !name.isTextual() || action == null || !action.isTextual() || key == null || !key.isTextual()) {
            throw new IllegalStateException("framework returned a malformed metadata action " + n
                    + "; expected {name, action, key[, value]} strings");
        }
        return new MetadataAction(name.asText(), action.asText(), key.asText(), n.get("value"));
    }
}
