package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NullValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of Go's text/template that strings.render_template policies use: {@code {{.a.b}}},
 * variables ({@code $}, {@code $x.a}), {@code range} (with {@code $i, $v :=}), {@code if},
 * {@code with}, {@code else}, {@code end} and the {@code {{-}} / {@code -}}} trim markers.
 * A missing field prints {@code <undefined>}, as OPA's template data does.
 */
final class GoTemplate {
    private static final String FN = "strings.render_template";

    private sealed interface Node permits Text, Print, Range, If {
    }

    private record Text(String text) implements Node {
    }

    private record Print(String pipe) implements Node {
    }

    /** {@code keyVar}/{@code valueVar} may be null; {@code with} is an If that rebinds dot. */
    private record Range(String keyVar, String valueVar, String pipe, List<Node> body, List<Node> otherwise) implements Node {
    }

    private record If(String pipe, boolean with, List<Node> body, List<Node> otherwise) implements Node {
    }

    private final String src;
    private int pos;
    private boolean trimNext;

    private GoTemplate(String src) {
        this.src = src;
    }

    static String render(String template, ObjectValue data) {
        GoTemplate t = new GoTemplate(template);
        List<Node> nodes = new ArrayList<>();
        String end = t.parse(nodes);
        if (end != null) throw BuiltinException.builtin(FN, "template: unexpected {{" + end + "}}");
        StringBuilder out = new StringBuilder();
        Map<String, Value> vars = new HashMap<>();
        vars.put("$", data);
        exec(nodes, data, vars, out);
        return out.toString();
    }

    /** Parses nodes until {{end}} or {{else}} (returned) or the end of input (null). */
    private String parse(List<Node> out) {
        while (pos < src.length()) {
            int open = src.indexOf("{{", pos);
            String text = open < 0 ? src.substring(pos) : src.substring(pos, open);
            if (trimNext) text = text.stripLeading();
            trimNext = false;
            if (open < 0) {
                if (!text.isEmpty()) out.add(new Text(text));
                pos = src.length();
                break;
            }
            int close = src.indexOf("}}", open + 2);
            if (close < 0) throw BuiltinException.builtin(FN, "template: unclosed action");
            String action = src.substring(open + 2, close);
            if (action.startsWith("-") && (action.length() == 1 || Character.isWhitespace(action.charAt(1)))) {
                text = text.stripTrailing();
                action = action.substring(1);
            }
            if (action.endsWith("-") && action.length() > 1 && Character.isWhitespace(action.charAt(action.length() - 2))) {
                trimNext = true;
                action = action.substring(0, action.length() - 1);
            }
            if (!text.isEmpty()) out.add(new Text(text));
            pos = close + 2;
            action = action.strip();
            if (action.startsWith("/*")) continue;
            String word = action.split("\\s+", 2)[0];
            String rest = action.length() > word.length() ? action.substring(word.length()).strip() : "";
            switch (word) {
                case "end", "else" -> {
                    return action;
                }
                case "range" -> {
                    String kv = null, vv = null, pipe = rest;
                    int decl = rest.indexOf(":=");
                    if (decl >= 0) {
                        String[] names = rest.substring(0, decl).split(",");
                        pipe = rest.substring(decl + 2).strip();
                        if (names.length == 2) {
                            kv = names[0].strip();
                            vv = names[1].strip();
                        } else {
                            vv = names[0].strip();
                        }
                    }
                    List<Node> body = new ArrayList<>(), otherwise = new ArrayList<>();
                    blockEnd(body, otherwise, "range");
                    out.add(new Range(kv, vv, pipe, body, otherwise));
                }
                case "if", "with" -> {
                    List<Node> body = new ArrayList<>(), otherwise = new ArrayList<>();
                    blockEnd(body, otherwise, word);
                    out.add(new If(rest, word.equals("with"), body, otherwise));
                }
                default -> out.add(new Print(action));
            }
        }
        return null;
    }

    private void blockEnd(List<Node> body, List<Node> otherwise, String what) {
        String end = parse(body);
        if (end == null) throw BuiltinException.builtin(FN, "template: unexpected EOF in " + what);
        if (end.startsWith("else")) {
            String elseRest = end.substring(4).strip();
            if (!elseRest.isEmpty()) {
                // {{else if x}}: a nested if closed by the same {{end}}
                List<Node> inner = new ArrayList<>(), innerElse = new ArrayList<>();
                String w = elseRest.split("\\s+", 2)[0];
                blockEnd(inner, innerElse, w);
                otherwise.add(new If(elseRest.substring(w.length()).strip(), w.equals("with"), inner, innerElse));
                return;
            }
            end = parse(otherwise);
            if (end == null || !end.equals("end")) throw BuiltinException.builtin(FN, "template: expected {{end}} closing " + what);
        }
    }

    private static void exec(List<Node> nodes, Value dot, Map<String, Value> vars, StringBuilder out) {
        for (Node n : nodes) {
            switch (n) {
                case Text t -> out.append(t.text());
                case Print p -> {
                    Value v = eval(p.pipe(), dot, vars);
                    out.append(v == null ? "<undefined>" : v instanceof StringValue s ? s.value() : Strings.formatValue(v));
                }
                case If f -> {
                    Value v = eval(f.pipe(), dot, vars);
                    if (truthy(v)) exec(f.body(), f.with() ? v : dot, new HashMap<>(vars), out);
                    else exec(f.otherwise(), dot, new HashMap<>(vars), out);
                }
                case Range r -> {
                    Value coll = eval(r.pipe(), dot, vars);
                    List<Value[]> entries = new ArrayList<>();
                    switch (coll) {
                        case ArrayValue a -> {
                            for (int i = 0; i < a.size(); i++) entries.add(new Value[]{NumberValue.of(i), a.get(i)});
                        }
                        case SetValue s -> {
                            int i = 0;
                            for (Value x : s.items()) entries.add(new Value[]{NumberValue.of(i++), x});
                        }
                        case ObjectValue o -> {
                            for (Map.Entry<Value, Value> e : o.map().entrySet()) entries.add(new Value[]{e.getKey(), e.getValue()});
                        }
                        case null -> {
                        }
                        default -> throw BuiltinException.builtin(FN, "template: range can't iterate over " + coll.toJson());
                    }
                    if (entries.isEmpty()) exec(r.otherwise(), dot, new HashMap<>(vars), out);
                    for (Value[] e : entries) {
                        Map<String, Value> scope = new HashMap<>(vars);
                        if (r.keyVar() != null) scope.put(r.keyVar(), e[0]);
                        if (r.valueVar() != null) scope.put(r.valueVar(), e[1]);
                        exec(r.body(), e[1], scope, out);
                    }
                }
            }
        }
    }

    /** A pipeline of one operand: ".", ".a.b", "$", "$x", "$x.a", or a quoted string / number / boolean literal. */
    private static Value eval(String pipe, Value dot, Map<String, Value> vars) {
        String p = pipe.strip();
        if (p.isEmpty()) throw BuiltinException.builtin(FN, "template: missing value in action");
        if (p.startsWith("\"") && p.endsWith("\"") && p.length() >= 2) return Value.of(p.substring(1, p.length() - 1));
        if (p.equals("true") || p.equals("false")) return Value.of(p.equals("true"));
        if (p.matches("-?[0-9]+")) return NumberValue.of(Long.parseLong(p));
        Value cur;
        String path;
        if (p.startsWith("$")) {
            int dotAt = p.indexOf('.');
            String name = dotAt < 0 ? p : p.substring(0, dotAt);
            if (!vars.containsKey(name)) throw BuiltinException.builtin(FN, "template: undefined variable \"" + name + "\"");
            cur = vars.get(name);
            path = dotAt < 0 ? "" : p.substring(dotAt);
        } else if (p.startsWith(".")) {
            cur = dot;
            path = p;
        } else {
            throw BuiltinException.builtin(FN, "template: unsupported action {{" + pipe + "}}");
        }
        if (path.equals(".")) return cur;
        for (String field : path.substring(path.isEmpty() ? 0 : 1).split("\\.")) {
            if (field.isEmpty()) continue;
            cur = cur instanceof ObjectValue o ? o.get(Value.of(field)) : null;
            if (cur == null) return null;
        }
        return cur;
    }

    private static boolean truthy(Value v) {
        return switch (v) {
            case null -> false;
            case BooleanValue b -> b.value();
            case NumberValue n -> n.value().signum() != 0;
            case StringValue s -> !s.value().isEmpty();
            case ArrayValue a -> a.size() > 0;
            case SetValue s -> s.size() > 0;
            case ObjectValue o -> o.size() > 0;
            case NullValue n -> false;
            default -> true;
        };
    }
}
