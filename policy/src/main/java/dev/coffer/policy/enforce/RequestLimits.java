package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;

/**
 * Size limits checked before a request reaches the Rego engine. No honest request comes near
 * them; a hostile one that does is refused at once instead of costing seconds of evaluation.
 */
final class RequestLimits {
    static final int MAX_LIST = 4096;
    static final int MAX_STRING = 64 * 1024;

    private RequestLimits() {}

    /** The first violation as "field: what", or null when the input is within limits. */
    static String violation(JsonNode input) {
        return check("", input, 0);
    }

    private static String check(String path, JsonNode n, int depth) {
        if (depth > 8) {
            return path + ": nested deeper than any enforcement input";
        }
        if (n.isTextual() && n.textValue().length() > MAX_STRING) {
            return path + ": " + n.textValue().length() + " characters (limit " + MAX_STRING + ")";
        }
        if (n.isArray()) {
            if (n.size() > MAX_LIST) {
                return path + ": " + n.size() + " entries (limit " + MAX_LIST + ")";
            }
            for (int i = 0; i < n.size(); i++) {
                String v = check(path + "[" + i + "]", n.get(i), depth + 1);
                if (v != null) return v;
            }
        }
        if (n.isObject()) {
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                String v = check(path.isEmpty() ? e.getKey() : path + "." + e.getKey(), e.getValue(), depth + 1);
                if (v != null) return v;
            }
        }
        return null;
    }
}
