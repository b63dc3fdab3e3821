package dev.coffer.policy.aci;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An Azure Resource Manager template's container groups, with parameters and variables
 * resolved as {@code az confcom acipolicygen -a TEMPLATE [-p PARAMETERS]} resolves them: a
 * parameter takes its value from the parameters file, else its {@code defaultValue}; string
 * values {@code [parameters('x')]}, {@code [variables('y')]} and {@code [concat(...)]} (nested,
 * with {@code 'quoted'} literals and numbers) are evaluated; {@code [[...} is a literal {@code [...}.
 * An environment variable whose value is a parameter with no value anywhere becomes the
 * pattern {@code .*}, as acipolicygen does for values only known at deployment.
 */
public final class ArmTemplate {
    static final ObjectMapper MAPPER = JsonMapper.builder().build();
    /** The resource types acipolicygen writes a policy for. */
    static final Set<String> GROUP_TYPES = Set.of("Microsoft.ContainerInstance/containerGroups",
            "Microsoft.ContainerInstance/containerGroupProfiles");

    private final ObjectNode template;
    private final Map<String, JsonNode> parameterValues = new HashMap<>();
    private final Set<String> unsetParameters = new HashSet<>();
    private final Map<String, JsonNode> variables = new HashMap<>();
    private final Set<String> resolving = new HashSet<>();

    private ArmTemplate(ObjectNode template) {
        this.template = template;
    }

    /** A value no parameter supplied: acipolicygen's ".*" where an environment value may vary, an error elsewhere. */
    record Unset(String parameter) {}

    /**
     * The container groups of {@code templateJson}, with {@code parametersJson} (a deployment
     * parameters file, or null) applied. {@code source} names the template in error messages.
     */
    public static List<AciGroup> parse(String templateJson, String parametersJson, String source) {
        ObjectNode template = object(read(templateJson, source), source, "the template");
        ArmTemplate t = new ArmTemplate(template);
        t.parameters(parametersJson == null ? null : object(read(parametersJson, source + " parameters"),
                source + " parameters", "the parameters file"), source);
        return t.groups(source);
    }

    private static JsonNode read(String json, String source) {
        try {
            return MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ArmTemplateException(source + ": not JSON: " + e.getOriginalMessage() + " (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
    }

    private static ObjectNode object(JsonNode n, String source, String what) {
        if (n == null || !n.isObject()) {
            throw new ArmTemplateException(source + ": expected " + what + " to be a JSON object, found "
                    + (n == null ? "nothing" : kind(n)));
        }
        return (ObjectNode) n;
    }

    static String kind(JsonNode n) {
        return n == null || n.isMissingNode() ? "nothing" : n.getNodeType().toString().toLowerCase();
    }

    private void parameters(ObjectNode file, String source) {
        JsonNode declared = template.path("parameters");
        if (!declared.isMissingNode() && !declared.isObject()) {
            throw new ArmTemplateException(source + ": parameters: expected an object, found " + kind(declared));
        }
        JsonNode supplied = file == null ? JsonNodeFactory.instance.objectNode() : file.path("parameters");
        if (!supplied.isObject()) {
            throw new ArmTemplateException(source + " parameters: parameters: expected an object, found " + kind(supplied));
        }
        for (Iterator<String> it = supplied.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!declared.has(name)) {
                throw new ArmTemplateException(source + " parameters: parameters." + name + ": the template declares no parameter '"
                        + name + "'; declared: " + names(declared));
            }
            JsonNode entry = supplied.get(name);
            if (!entry.isObject() || !entry.has("value")) {
                throw new ArmTemplateException(source + " parameters: parameters." + name
                        + ": expected {\"value\": ...}, found " + entry);
            }
            parameterValues.put(name, entry.get("value"));
        }
        for (Iterator<String> it = declared.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (parameterValues.containsKey(name)) continue;
            JsonNode decl = declared.get(name);
            if (!decl.isObject()) {
                throw new ArmTemplateException(source + ": parameters." + name + ": expected an object with \"type\" and"
                        + " optionally \"defaultValue\", found " + kind(decl));
            }
            if (decl.has("defaultValue")) {
                parameterValues.put(name, resolve(decl.get("defaultValue"), source + ": parameters." + name + ".defaultValue"));
            } else {
                unsetParameters.add(name);
            }
        }
    }

    private static List<String> names(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private List<AciGroup> groups(String source) {
        JsonNode resources = template.path("resources");
        if (!resources.isArray()) {
            throw new ArmTemplateException(source + ": resources: expected an array of resources, found " + kind(resources));
        }
        List<AciGroup> groups = new ArrayList<>();
        for (int i = 0; i < resources.size(); i++) {
            String at = source + ": resources[" + i + "]";
            JsonNode r = resources.get(i);
            String type = text(r.path("type"), at + ".type");
            if (!GROUP_TYPES.contains(type)) continue;
            groups.add(AciGroup.fromResource(r, this, at));
        }
        if (groups.isEmpty()) {
            throw new ArmTemplateException(source + ": no resource of type " + GROUP_TYPES.stream().sorted().toList()
                    + "; acipolicygen writes policies only for container groups");
        }
        return groups;
    }

    /** The value at {@code at}, evaluated; {@link Unset} values come back as null with {@code unset} told. */
    JsonNode resolve(JsonNode value, String at) {
        if (value == null || value.isMissingNode()) return value;
        if (value.isTextual()) {
            Object v = evaluateString(value.asText(), at);
            if (v instanceof Unset u) {
                throw new ArmTemplateException(at + ": parameter '" + u.parameter() + "' has no defaultValue and the parameters"
                        + " file gives it no value; add it to the parameters file (-p) or give it a defaultValue");
            }
            return (JsonNode) v;
        }
        if (value.isArray()) {
            ArrayNode out = JsonNodeFactory.instance.arrayNode();
            for (int i = 0; i < value.size(); i++) out.add(resolve(value.get(i), at + "[" + i + "]"));
            return out;
        }
        if (value.isObject()) {
            ObjectNode out = JsonNodeFactory.instance.objectNode();
            value.fields().forEachRemaining(e -> out.set(e.getKey(), resolve(e.getValue(), at + "." + e.getKey())));
            return out;
        }
        return value;
    }

    /** Like {@link #resolve} for a string field, keeping {@link Unset}. */
    Object resolveMaybeUnset(JsonNode value, String at) {
        if (value != null && value.isTextual()) return evaluateString(value.asText(), at);
        return resolve(value, at);
    }

    String text(JsonNode value, String at) {
        JsonNode v = resolve(value, at);
        if (v == null || !v.isTextual()) {
            throw new ArmTemplateException(at + ": expected a string, found " + kind(v));
        }
        return v.asText();
    }

    private Object evaluateString(String s, String at) {
        if (s.startsWith("[[")) return JsonNodeFactory.instance.textNode(s.substring(1));
        if (!(s.startsWith("[") && s.endsWith("]"))) return JsonNodeFactory.instance.textNode(s);
        Expression e = new Expression(s.substring(1, s.length() - 1), at);
        Object v = e.call();
        e.end();
        return v;
    }

    private JsonNode variable(String name, String at) {
        if (variables.containsKey(name)) return variables.get(name);
        JsonNode declared = template.path("variables");
        if (!declared.has(name)) {
            throw new ArmTemplateException(at + ": variables('" + name + "'): the template declares no variable '" + name
                    + "'; declared: " + names(declared));
        }
        if (!resolving.add(name)) {
            throw new ArmTemplateException(at + ": variables('" + name + "') refers to itself through " + resolving);
        }
        JsonNode v = resolve(declared.get(name), "variables." + name);
        resolving.remove(name);
        variables.put(name, v);
        return v;
    }

    /** A template expression: {@code fn(arg, ...)} with string literals, numbers and nested calls. */
    private final class Expression {
        private final String text;
        private final String at;
        private int pos;

        Expression(String text, String at) {
            this.text = text;
            this.at = at;
        }

        private ArmTemplateException error(String expected) {
            return new ArmTemplateException(at + ": in expression [" + text + "] at column " + (pos + 1) + ": expected "
                    + expected + ", found " + (pos >= text.length() ? "the end" : "'" + text.charAt(pos) + "'")
                    + "; acipolicygen resolves parameters('x'), variables('y') and concat(...)");
        }

        void end() {
            skip();
            if (pos != text.length()) throw error("the end of the expression");
        }

        private void skip() {
            while (pos < text.length() && text.charAt(pos) == ' ') pos++;
        }

        private Object value() {
            skip();
            if (pos >= text.length()) throw error("a value");
            char c = text.charAt(pos);
            if (c == '\'') return JsonNodeFactory.instance.textNode(literal());
            if (c == '-' || Character.isDigit(c)) {
                int start = pos++;
                while (pos < text.length() && Character.isDigit(text.charAt(pos))) pos++;
                return JsonNodeFactory.instance.numberNode(Long.parseLong(text.substring(start, pos)));
            }
            return call();
        }

        private String literal() {
            StringBuilder sb = new StringBuilder();
            pos++;
            while (true) {
                if (pos >= text.length()) throw error("a closing quote");
                char c = text.charAt(pos++);
                if (c == '\'') {
                    if (pos < text.length() && text.charAt(pos) == '\'') {
                        sb.append('\'');
                        pos++;
                    } else {
                        return sb.toString();
                    }
                } else {
                    sb.append(c);
                }
            }
        }

        Object call() {
            skip();
            int start = pos;
            while (pos < text.length() && Character.isLetterOrDigit(text.charAt(pos))) pos++;
            String fn = text.substring(start, pos);
            if (fn.isEmpty()) throw error("a function name");
            skip();
            if (pos >= text.length() || text.charAt(pos) != '(') throw error("'(' after " + fn);
            pos++;
            List<Object> args = new ArrayList<>();
            skip();
            if (pos < text.length() && text.charAt(pos) == ')') {
                pos++;
            } else {
                while (true) {
                    args.add(value());
                    skip();
                    if (pos < text.length() && text.charAt(pos) == ',') {
                        pos++;
                        continue;
                    }
                    if (pos < text.length() && text.charAt(pos) == ')') {
                        pos++;
                        break;
                    }
                    throw error("',' or ')'");
                }
            }
            skip();
            if (pos < text.length() && (text.charAt(pos) == '.' || text.charAt(pos) == '[')) {
                throw error("no property access or index (not resolved by acipolicygen's template reader)");
            }
            return apply(fn, args);
        }

        private Object apply(String fn, List<Object> args) {
            switch (fn.toLowerCase()) {
                case "parameters" -> {
                    String name = stringArg(fn, args, 0, 1);
                    if (parameterValues.containsKey(name)) return parameterValues.get(name);
                    if (unsetParameters.contains(name)) return new Unset(name);
                    throw new ArmTemplateException(at + ": parameters('" + name + "'): the template declares no parameter '"
                            + name + "'; declared: " + names(template.path("parameters")));
                }
                case "variables" -> {
                    return variable(stringArg(fn, args, 0, 1), at);
                }
                case "concat" -> {
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < args.size(); i++) {
                        Object a = args.get(i);
                        if (a instanceof Unset u) return u;
                        JsonNode n = (JsonNode) a;
                        if (n.isArray() || n.isObject()) {
                            throw new ArmTemplateException(at + ": concat argument " + (i + 1)
                                    + " is " + kind(n) + "; only strings and numbers are concatenated here");
                        }
                        sb.append(n.asText());
                    }
                    return JsonNodeFactory.instance.textNode(sb.toString());
                }
                default -> throw new ArmTemplateException(at + ": in expression [" + text + "]: function '" + fn
                        + "' is not resolved; acipolicygen resolves parameters('x'), variables('y') and concat(...): give the"
                        + " value literally or through a parameter");
            }
        }

        private String stringArg(String fn, List<Object> args, int index, int count) {
            if (args.size() != count) {
                throw new ArmTemplateException(at + ": " + fn + "(...) takes " + count + " argument, found " + args.size());
            }
            Object a = args.get(index);
            if (!(a instanceof JsonNode n) || !n.isTextual()) {
                throw new ArmTemplateException(at + ": " + fn + "(...) takes a quoted name such as " + fn + "('name')");
            }
            return n.asText();
        }
    }
}
