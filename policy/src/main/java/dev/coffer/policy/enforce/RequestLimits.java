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
        Violation v = check(input, 0);
        return v == null ? null : v.path + ": " + v.what;
    }

    // the path is built only on the way back from a violation: an honest request, the common
    // case, walks its tree without making a string per field
    private record Violation(String path, String what) {
        /** This violation as seen from the parent: {@code step} is "name" or "[i]". */
        Violation under(String step) {
            return new Violation(path.isEmpty() || path.startsWith("[") ? step + path : step + "." + path, what);
        }
    }

    private static Violation check(JsonNode n, int depth) {
        if (depth > 8) {
            return new Violation("", "nested deeper than any enforcement input");
        }
        if (n.isTextual() && n.textValue().length() > MAX_STRING) {
            return new Violation("", n.textValue().length() + " characters (limit " + MAX_STRING + ")");
        }
        if (n.isArray()) {
            if (n.size() > MAX_LIST) {
                return new Violation("", n.size() + " entries (limit " + MAX_LIST + ")");
            }
            for (int i = 0; i < n.size(); i++) {
                Violation v = check(n.get(i), depth + 1);
                if (v != null) return v.under("[" + i + "]");
            }
        }
        if (n.isObject()) {
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                Violation v = check(e.getValue(), depth + 1);
                if (v != null) return v.under(e.getKey());
            }
        }
        return null;
    }
}
