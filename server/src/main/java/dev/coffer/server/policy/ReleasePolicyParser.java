package dev.coffer.server.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.ReleasePolicy.AllOf;
import dev.coffer.server.policy.ReleasePolicy.AnyOf;
import dev.coffer.server.policy.ReleasePolicy.AuthorityBlock;
import dev.coffer.server.policy.ReleasePolicy.Condition;
import dev.coffer.server.policy.ReleasePolicy.Expr;
import dev.coffer.server.policy.ReleasePolicy.Operator;
import dev.coffer.server.token.IssuerKeys;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Validates a release policy on upload. Every error names the JSON path at fault, what was
 * expected there and what was found, so a policy author can fix it in one pass.
 */
public final class ReleasePolicyParser {
    /** Grammar versions Azure Key Vault has published; all share the grammar parsed here. */
    public static final Set<String> VERSIONS = Set.of("1.0.0", "1.0.1", "1.0.2");
    static final int MAX_DEPTH = 16;
    static final int MAX_CONDITIONS = 256;

    private int conditions;

    private ReleasePolicyParser() {}

    public static ReleasePolicy parse(String text) throws PolicyException {
        JsonNode node;
        try {
            node = Json.parse(text);
        } catch (IOException e) {
            String m = e.getMessage() == null ? "" : e.getMessage().replaceAll("\\s+", " ");
            throw new PolicyException("release policy is not valid JSON: " + (m.length() > 160 ? m.substring(0, 160) : m));
        }
        return parse(node);
    }

    public static ReleasePolicy parse(JsonNode node) throws PolicyException {
        return new ReleasePolicyParser().policy(node);
    }

    private ReleasePolicy policy(JsonNode node) throws PolicyException {
        ObjectNode root = object(node, "policy");
        allowOnly(root, "policy", "version", "anyOf", "allOf");
        JsonNode version = root.get("version");
        if (version == null) throw new PolicyException("policy: missing 'version'; expected one of " + sorted(VERSIONS));
        if (!version.isTextual() || !VERSIONS.contains(version.textValue())) {
            throw new PolicyException("policy.version: expected one of " + sorted(VERSIONS) + ", found " + version);
        }
        boolean any = root.has("anyOf");
        boolean all = root.has("allOf");
        if (any == all) {
            throw new PolicyException("policy: expected exactly one of 'anyOf' or 'allOf' (a list of authority blocks), found "
                    + (any ? "both" : "neither"));
        }
        String key = any ? "anyOf" : "allOf";
        ArrayNode blocks = array(root.get(key), "policy." + key);
        List<AuthorityBlock> list = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            list.add(authority(blocks.get(i), "policy." + key + "[" + i + "]"));
        }
        return new ReleasePolicy(version.textValue(), all, List.copyOf(list), root.deepCopy());
    }

    private AuthorityBlock authority(JsonNode node, String path) throws PolicyException {
        ObjectNode o = object(node, path);
        JsonNode auth = o.get("authority");
        if (auth == null) {
            throw new PolicyException(path + ": missing 'authority' (the attestation service URL whose tokens this block accepts)");
        }
        if (!auth.isTextual() || auth.textValue().isBlank()) {
            throw new PolicyException(path + ".authority: expected an https URL string, found " + auth);
        }
        String url = auth.textValue();
        try {
            URI u = URI.create(url);
            if (!("https".equals(u.getScheme()) || "http".equals(u.getScheme())) || u.getHost() == null) {
                throw new IllegalArgumentException("not an http(s) URL with a host");
            }
        } catch (IllegalArgumentException e) {
            throw new PolicyException(path + ".authority: expected an http(s) URL, found '" + url + "' (" + e.getMessage() + ")");
        }
        // The block's expression: either a group (anyOf/allOf) or the block is itself a condition.
        ObjectNode rest = o.deepCopy();
        rest.remove("authority");
        Expr expr = expr(rest, path, 1);
        return new AuthorityBlock(IssuerKeys.normalize(url), expr, path);
    }

    private Expr expr(JsonNode node, String path, int depth) throws PolicyException {
        if (depth > MAX_DEPTH) throw new PolicyException(path + ": nesting deeper than " + MAX_DEPTH + " levels");
        ObjectNode o = object(node, path);
        boolean any = o.has("anyOf");
        boolean all = o.has("allOf");
        boolean claim = o.has("claim");
        int kinds = (any ? 1 : 0) + (all ? 1 : 0) + (claim ? 1 : 0);
        if (kinds != 1) {
            throw new PolicyException(path + ": expected exactly one of 'anyOf', 'allOf' or a condition ('claim' + operator), found "
                    + (kinds == 0 ? "none (fields: " + fields(o) + ")" : "several (fields: " + fields(o) + ")"));
        }
        if (claim) return condition(o, path);
        String key = any ? "anyOf" : "allOf";
        allowOnly(o, path, key);
        ArrayNode items = array(o.get(key), path + "." + key);
        List<Expr> list = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) list.add(expr(items.get(i), path + "." + key + "[" + i + "]", depth + 1));
        return any ? new AnyOf(List.copyOf(list), path) : new AllOf(List.copyOf(list), path);
    }

    private Condition condition(ObjectNode o, String path) throws PolicyException {
        if (++conditions > MAX_CONDITIONS) throw new PolicyException(path + ": more than " + MAX_CONDITIONS + " conditions in one policy");
        JsonNode claim = o.get("claim");
        if (!claim.isTextual() || claim.textValue().isEmpty()) {
            throw new PolicyException(path + ".claim: expected a claim name or dotted path, found " + claim);
        }
        List<String> segments = Arrays.asList(claim.textValue().split("\\.", -1));
        if (segments.stream().anyMatch(String::isEmpty)) {
            throw new PolicyException(path + ".claim: '" + claim.textValue() + "' has an empty path segment; write e.g. 'x-ms-runtime.keys'");
        }
        Operator op = null;
        JsonNode value = null;
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (f.equals("claim")) continue;
            Operator candidate = Operator.fromJson(f);
            if (candidate == null) {
                throw new PolicyException(path + ": unknown field '" + f + "'; a condition has 'claim' and one operator of "
                        + operatorNames());
            }
            if (op != null) {
                throw new PolicyException(path + ": condition has two operators ('" + op.jsonName + "' and '" + f
                        + "'); expected exactly one");
            }
            op = candidate;
            value = o.get(f);
        }
        if (op == null) {
            throw new PolicyException(path + ": condition on claim '" + claim.textValue() + "' has no operator; expected one of " + operatorNames());
        }
        String at = path + "." + op.jsonName;
        switch (op) {
            case EQUALS, NOT_EQUALS -> {
                if (!(value.isTextual() || value.isNumber() || value.isBoolean())) {
                    throw new PolicyException(at + ": expected a string, number or boolean, found " + kind(value));
                }
            }
            case LESS, LESS_OR_EQUALS, GREATER, GREATER_OR_EQUALS -> {
                if (!value.isNumber()) throw new PolicyException(at + ": expected a number, found " + kind(value));
            }
            case EXISTS -> {
                if (!value.isBoolean()) throw new PolicyException(at + ": expected true or false, found " + kind(value));
            }
        }
        return new Condition(claim.textValue(), List.copyOf(segments), op, value.deepCopy(), path);
    }

    private static ObjectNode object(JsonNode node, String path) throws PolicyException {
        if (node instanceof ObjectNode o) return o;
        throw new PolicyException(path + ": expected a JSON object, found " + kind(node));
    }

    private static ArrayNode array(JsonNode node, String path) throws PolicyException {
        if (!(node instanceof ArrayNode a)) throw new PolicyException(path + ": expected a JSON array, found " + kind(node));
        if (a.isEmpty()) throw new PolicyException(path + ": expected at least one entry, found an empty array");
        return a;
    }

    private static void allowOnly(ObjectNode o, String path, String... allowed) throws PolicyException {
        List<String> ok = List.of(allowed);
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ok.contains(f)) throw new PolicyException(path + ": unknown field '" + f + "'; allowed here: " + ok);
        }
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        return n.getNodeType().name().toLowerCase() + (n.isValueNode() ? " " + n : "");
    }

    private static String fields(ObjectNode o) {
        List<String> names = new ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        return String.join(", ", names);
    }

    private static String operatorNames() {
        List<String> names = new ArrayList<>();
        for (Operator op : Operator.values()) names.add(op.jsonName);
        return String.join("|", names);
    }

    private static List<String> sorted(Set<String> s) {
        return s.stream().sorted().toList();
    }
}
