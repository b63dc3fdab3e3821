package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * The outcome of checking one host request. An allowed decision carries the state change
 * ({@link #delta()}) that the caller commits with {@link PolicyEnforcer#commit} once the host
 * operation succeeded, or discards with {@link PolicyEnforcer#rollback} if it failed. A denied
 * decision carries an {@link Explanation} and changes nothing.
 *
 * @param sequence    position in the decision log
 * @param input       the input document the framework saw
 * @param result      the rule's full result object (e.g. {@code allow_stdio_access}, {@code env_list}), as the
 *                    Rego value the framework returned: only the fields a caller reads are converted to JSON
 * @param baseVersion state version the decision was made against; commit refuses a stale decision
 */
public record Decision(long sequence, String rule, boolean allowed, ObjectNode input, Value result,
                       List<MetadataAction> delta, Explanation explanation, long baseVersion) {
    public Decision {
        delta = List.copyOf(delta);
        if (allowed == (explanation != null)) {
            throw new IllegalArgumentException("an allowed decision has no explanation and a denied one has one");
        }
        if (!allowed && !delta.isEmpty()) {
            throw new IllegalArgumentException("a denied decision changes no state");
        }
    }

    /** "allowed", or the one-line denial explanation the host is sent. */
    public String reason() {
        return allowed ? "allowed" : explanation.message();
    }

    /** Whether the container/process may have its stdio connected to the host (false when denied or unspecified). */
    public boolean allowStdioAccess() {
        JsonNode v = field("allow_stdio_access");
        return v != null && v.asBoolean(false);
    }

    /** The environment the process must be started with, as allowed by the policy (empty if not applicable). */
    public List<String> envList() {
        List<String> env = new ArrayList<>();
        JsonNode v = field("env_list");
        if (v != null && v.isArray()) {
            v.forEach(e -> env.add(e.asText()));
        }
        return env;
    }

    /**
     * The capabilities the container must run with (create_container): what was requested, or
     * with ACI's allow_capability_dropping the policy's grant, the rest dropped. Null when the
     * decision carries none.
     */
    public EnforcementRequest.Capabilities capabilities() {
        JsonNode v = field("caps_list");
        if (v == null || !v.isObject()) {
            return null;
        }
        return new EnforcementRequest.Capabilities(strings(v.get("bounding")), strings(v.get("effective")),
                strings(v.get("inheritable")), strings(v.get("permitted")), strings(v.get("ambient")));
    }

    /** One member of the result as JSON, or null; converted on demand because most callers read one or two. */
    private JsonNode field(String name) {
        return result instanceof ObjectValue o && o.get(name) instanceof Value v ? Json.toJsonNode(v) : null;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) array.forEach(e -> out.add(e.asText()));
        return out;
    }
}
