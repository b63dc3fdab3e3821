package dev.coffer.rego.builtins;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** base64, base64url, hex, json, yaml and urlquery encodings. */
final class Encoding {
    private Encoding() {
    }

    /** Built on first YAML use only: creating the YAML mapper is slow and most policies never need it. */
    private static final class Yaml {
        static final ObjectMapper YAML = YAMLMapper.builder(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER))
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();
    }

    static void register(Builtins.Registry r) {
        r.add("base64.encode", 1, (c, a) -> Value.of(Base64.getEncoder().encodeToString(bytes("base64.encode", a, 0))));
        r.add("base64.decode", 1, (c, a) -> Value.of(utf8(decode64("base64.decode", Args.str("base64.decode", a, 0), false))));
        r.add("base64.is_valid", 1, (c, a) -> {
            try {
                decode64("base64.is_valid", Args.str("base64.is_valid", a, 0), false);
                return Value.of(true);
            } catch (BuiltinException e) {
                return Value.of(false);
            }
        });
        r.add("base64url.encode", 1, (c, a) -> Value.of(Base64.getUrlEncoder().encodeToString(bytes("base64url.encode", a, 0))));
        r.add("base64url.encode_no_pad", 1, (c, a) -> Value.of(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes("base64url.encode_no_pad", a, 0))));
        r.add("base64url.decode", 1, (c, a) -> Value.of(utf8(decode64("base64url.decode", Args.str("base64url.decode", a, 0), true))));
        r.add("hex.encode", 1, (c, a) -> Value.of(HexFormat.of().formatHex(bytes("hex.encode", a, 0))));
        r.add("hex.decode", 1, (c, a) -> {
            String s = Args.str("hex.decode", a, 0);
            for (int i = 0; i < s.length(); i++) {
                char ch = s.charAt(i);
                if (Character.digit(ch, 16) < 0)
                    throw BuiltinException.builtin("hex.decode", String.format("encoding/hex: invalid byte: U+%04X '%c'", (int) ch, ch));
            }
            if (s.length() % 2 != 0) throw BuiltinException.builtin("hex.decode", "encoding/hex: odd length hex string");
            return Value.of(utf8(HexFormat.of().parseHex(s)));
        });
        r.add("json.marshal", 1, (c, a) -> Value.of(Json.write(a[0])));
        r.add("json.marshal_with_options", 2, Encoding::marshalWithOptions);
        r.add("json.unmarshal", 1, (c, a) -> {
            try {
                return Json.parse(Args.str("json.unmarshal", a, 0));
            } catch (IllegalArgumentException e) {
                throw BuiltinException.builtin("json.unmarshal", e.getMessage());
            }
        });
        r.add("json.is_valid", 1, (c, a) -> {
            if (!(a[0] instanceof StringValue s)) return Value.of(false);
            try {
                Json.parse(s.value());
                return Value.of(true);
            } catch (IllegalArgumentException e) {
                return Value.of(false);
            }
        });
        r.add("yaml.marshal", 1, (c, a) -> {
            try {
                return Value.of(Yaml.YAML.writeValueAsString(Json.toJsonNode(a[0])));
            } catch (JsonProcessingException e) {
                throw BuiltinException.builtin("yaml.marshal", e.getOriginalMessage());
            }
        });
        r.add("yaml.unmarshal", 1, (c, a) -> {
            try {
                JsonNode n = Yaml.YAML.readTree(Args.str("yaml.unmarshal", a, 0));
                return Json.fromJsonNode(n);
            } catch (JsonProcessingException e) {
                throw BuiltinException.builtin("yaml.unmarshal", yamlError(e));
            }
        });
        r.add("yaml.is_valid", 1, (c, a) -> {
            if (!(a[0] instanceof StringValue s)) return Value.of(false);
            // every document of the stream must parse, not only the first one that
            // unmarshal returns: OPA calls "a: 1\n---\n\tb: 2" invalid
            try (var docs = Yaml.YAML.readerFor(JsonNode.class).readValues(s.value())) {
                while (docs.hasNextValue()) docs.nextValue();
                return Value.of(true);
            } catch (IOException e) {
                return Value.of(false);
            }
        });
        r.add("urlquery.encode", 1, (c, a) -> Value.of(queryEscape(Args.str("urlquery.encode", a, 0))));
        r.add("urlquery.decode", 1, (c, a) -> {
            try {
                return Value.of(URLDecoder.decode(Args.str("urlquery.decode", a, 0), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw BuiltinException.builtin("urlquery.decode", "invalid URL escape");
            }
        });
        r.add("urlquery.encode_object", 1, (c, a) -> {
            ObjectValue o = Args.obj("urlquery.encode_object", a, 0);
            List<String> parts = new ArrayList<>();
            for (Map.Entry<Value, Value> e : o.map().entrySet()) {
                if (!(e.getKey() instanceof StringValue k)) throw Args.typeErr("urlquery.encode_object", 0, "object[string: any]", a[0]);
                Value v = e.getValue();
                if (v instanceof StringValue s) parts.add(queryEscape(k.value()) + "=" + queryEscape(s.value()));
                else if (v instanceof ArrayValue || v instanceof SetValue) {
                    Iterable<Value> items = v instanceof ArrayValue av ? av.items() : ((SetValue) v).items();
                    for (Value x : items) {
                        if (!(x instanceof StringValue xs)) throw BuiltinException.type("urlquery.encode_object", "operand 1 must be object[string: union[string, array[string], set[string]]]");
                        parts.add(queryEscape(k.value()) + "=" + queryEscape(xs.value()));
                    }
                } else {
                    throw BuiltinException.type("urlquery.encode_object", "operand 1 must be object[string: union[string, array[string], set[string]]]");
                }
            }
            return Value.of(String.join("&", parts));
        });
        r.add("urlquery.decode_object", 1, (c, a) -> {
            String s = Args.str("urlquery.decode_object", a, 0);
            Map<String, List<Value>> m = new LinkedHashMap<>();
            for (String part : s.split("[&;]")) {
                if (part.isEmpty()) continue;
                int eq = part.indexOf('=');
                String k = eq < 0 ? part : part.substring(0, eq), v = eq < 0 ? "" : part.substring(eq + 1);
                try {
                    m.computeIfAbsent(URLDecoder.decode(k, StandardCharsets.UTF_8), x -> new ArrayList<>())
                            .add(Value.of(URLDecoder.decode(v, StandardCharsets.UTF_8)));
                } catch (IllegalArgumentException e) {
                    throw BuiltinException.builtin("urlquery.decode_object", "invalid URL escape");
                }
            }
            TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
            for (Map.Entry<String, List<Value>> e : m.entrySet()) out.put(Value.of(e.getKey()), Value.array(e.getValue()));
            return ObjectValue.wrap(out);
        });
    }

    private static Value marshalWithOptions(BuiltinContext c, Value[] a) {
        ObjectValue opts = Args.obj("json.marshal_with_options", a, 1);
        String prefix = "", indent = null;
        boolean pretty = false;
        for (Map.Entry<Value, Value> e : opts.map().entrySet()) {
            String k = e.getKey() instanceof StringValue s ? s.value() : "";
            switch (k) {
                case "pretty" -> {
                    if (!(e.getValue() instanceof dev.coffer.rego.value.BooleanValue b))
                        throw BuiltinException.type("json.marshal_with_options", "operand 2 must be object[string: union[boolean, string]]");
                    pretty = b.value();
                }
                case "prefix" -> {
                    if (!(e.getValue() instanceof StringValue s)) throw BuiltinException.type("json.marshal_with_options", "operand 2 must be object[string: union[boolean, string]]");
                    prefix = s.value();
                }
                case "indent" -> {
                    if (!(e.getValue() instanceof StringValue s)) throw BuiltinException.type("json.marshal_with_options", "operand 2 must be object[string: union[boolean, string]]");
                    indent = s.value();
                }
                default -> throw BuiltinException.type("json.marshal_with_options", "object contained unknown key " + e.getKey().toJson());
            }
        }
        boolean explicitPretty = opts.get("pretty") != null;
        if (!explicitPretty && (indent != null || !prefix.isEmpty())) pretty = true;
        if (!pretty) return Value.of(Json.write(a[0]));
        if (indent == null) indent = "\t";
        StringBuilder sb = new StringBuilder();
        sb.append(prefix);
        pretty(a[0], sb, prefix, indent, 0);
        return Value.of(sb.toString());
    }

    private static void pretty(Value v, StringBuilder sb, String prefix, String indent, int level) {
        switch (v) {
            case ArrayValue arr when arr.size() > 0 -> {
                sb.append("[\n");
                for (int i = 0; i < arr.size(); i++) {
                    sb.append(prefix).append(indent.repeat(level + 1));
                    pretty(arr.get(i), sb, prefix, indent, level + 1);
                    if (i < arr.size() - 1) sb.append(',');
                    sb.append('\n');
                }
                sb.append(prefix).append(indent.repeat(level)).append(']');
            }
            case SetValue set when set.size() > 0 -> pretty(Value.array(new ArrayList<>(set.items())), sb, prefix, indent, level);
            case ObjectValue o when o.size() > 0 -> {
                sb.append("{\n");
                int i = 0;
                for (Map.Entry<Value, Value> e : o.map().entrySet()) {
                    sb.append(prefix).append(indent.repeat(level + 1));
                    Json.quote(Json.keyText(e.getKey()), sb);
                    sb.append(": ");
                    pretty(e.getValue(), sb, prefix, indent, level + 1);
                    if (++i < o.size()) sb.append(',');
                    sb.append('\n');
                }
                sb.append(prefix).append(indent.repeat(level)).append('}');
            }
            default -> Json.write(v, sb);
        }
    }

    private static byte[] bytes(String fn, Value[] a, int i) {
        return Args.str(fn, a, i).getBytes(StandardCharsets.UTF_8);
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] decode64(String fn, String s, boolean url) {
        try {
            if (url) {
                String t = s.replace('+', '-').replace('/', '_');
                return Base64.getUrlDecoder().decode(t);
            }
            if (s.length() % 4 != 0) throw new IllegalArgumentException("bad length");
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "illegal base64 data at input byte " + Math.max(0, s.length() - 1));
        }
    }

    /** Go's url.QueryEscape: space as '+', unreserved characters kept. */
    static String queryEscape(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("*", "%2A").replace("%7E", "~");
    }

    /** Go's yaml wording ("yaml: line 1: did not find expected ',' or ']'") for a SnakeYAML error. */
    static String yamlError(JsonProcessingException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.yaml.snakeyaml.error.MarkedYAMLException m && m.getProblemMark() != null && m.getProblem() != null) {
                String what = m.getProblem();
                int cut = what.indexOf(", but ");
                if (cut > 0) what = what.substring(0, cut);
                if (what.startsWith("expected ")) what = "did not find " + what;
                return "yaml: line " + (m.getProblemMark().getLine() + 1) + ": " + what;
            }
        }
        return e.getOriginalMessage();
    }
}
