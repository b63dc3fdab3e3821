package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.Objects;

/**
 * One change to the policy state ({@code data.metadata.<name>[<key>]}) that an allowed
 * decision proposes: "add" (the key must be new), "update" (set) or "remove" (the key must exist).
 *
 * <p>Not a record because the value is converted lazily: a create_container's "matches" update
 * carries whole candidate-container documents, and a decision that is rolled back (or whose
 * delta nobody reads) should not pay for turning them into JSON. Equality is by value, as a
 * record's would be.
 */
public final class MetadataAction {
    private final String name;
    private final String action;
    private final String key;
    // exactly one source of the value: the framework's Rego value (converted on first use) or JSON
    private final Value regoValue;
    private volatile JsonNode value;

    public MetadataAction(String name, String action, String key, JsonNode value) {
        this(name, action, key, null, value);
    }

    private MetadataAction(String name, String action, String key, Value regoValue, JsonNode value) {
        if (!action.equals("add") && !action.equals("update") && !action.equals("remove")) {
            throw new IllegalArgumentException("metadata action must be add, update or remove: found '" + action + "'");
        }
        this.name = Objects.requireNonNull(name);
        this.action = action;
        this.key = Objects.requireNonNull(key);
        this.regoValue = regoValue;
        this.value = value;
    }

    public static MetadataAction fromJson(JsonNode n) {
        JsonNode name = n.get("name"), action = n.get("action"), key = n.get("key");
        if (name == null || !name.isTextual() || action == null || !action.isTextual() || key == null || !key.isTextual()) {
            throw new IllegalStateException("framework returned a malformed metadata action " + n
                    + "; expected {name, action, key[, value]} strings");
        }
        return new MetadataAction(name.asText(), action.asText(), key.asText(), n.get("value"));
    }

    /** The same as {@link #fromJson} on the framework's Rego value, without converting the action's value yet. */
    static MetadataAction fromValue(Value v) {
        if (v instanceof ObjectValue o && o.get("name") instanceof StringValue name
                && o.get("action") instanceof StringValue action && o.get("key") instanceof StringValue key) {
            return new MetadataAction(name.value(), action.value(), key.value(), o.get("value"), null);
        }
        throw new IllegalStateException("framework returned a malformed metadata action " + Json.write(v)
                + "; expected {name, action, key[, value]} strings");
    }

    public String name() {
        return name;
    }

    public String action() {
        return action;
    }

    public String key() {
        return key;
    }

    /** The new value (add, update), or null when there is none (remove). */
    public JsonNode value() {
        JsonNode v = value;
        if (v == null && regoValue != null) {
            v = Json.toJsonNode(regoValue);
            value = v;
        }
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetadataAction a && name.equals(a.name) && action.equals(a.action) && key.equals(a.key)
                && Objects.equals(value(), a.value());
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, action, key, value());
    }

    @Override
    public String toString() {
        return "MetadataAction[name=" + name + ", action=" + action + ", key=" + key + ", value=" + value() + "]";
    }
}
