package dev.coffer.rego.value;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Conversions between {@link Value} and JSON text, Jackson trees and plain Java objects. */
public final class Json {
    /** Numbers are read as BigDecimal so that no precision is lost on the way in. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();
    private static final int MAX_DEPTH = 10_000;

    private Json() {
    }

    /** Parses JSON text; throws IllegalArgumentException with the parser's reason on bad input. */
    public static Value parse(String json) {
        try {
            return fromJsonNode(MAPPER.readTree(json));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage());
        }
    }

    public static Value fromJsonNode(JsonNode n) {
        return fromJsonNode(n, 0);
    }

    private static Value fromJsonNode(JsonNode n, int depth) {
        if (depth > MAX_DEPTH) throw new IllegalArgumentException("JSON nested deeper than " + MAX_DEPTH + " levels; flatten the document");
        if (n == null || n.isNull() || n.isMissingNode()) return NullValue.INSTANCE;
        if (n.isBoolean()) return Value.of(n.booleanValue());
        if (n.isNumber()) {
            if (n.isIntegralNumber()) return NumberValue.of(n.bigIntegerValue());
            return NumberValue.of(n.decimalValue());
        }
        if (n.isTextual()) return new StringValue(n.textValue());
        if (n.isArray()) {
            ArrayList<Value> items = new ArrayList<>(n.size());
            for (JsonNode c : n) items.add(fromJsonNode(c, depth + 1));
            return Value.wrapList(items);
        }
        if (n.isObject()) {
            TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(new StringValue(e.getKey()), fromJsonNode(e.getValue(), depth + 1));
            }
            return ObjectValue.wrap(m);
        }
        if (n.isBinary()) {
            try {
                return new StringValue(java.util.Base64.getEncoder().encodeToString(n.binaryValue()));
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("unreadable binary JSON node: " + e.getMessage());
            }
        }
        throw new IllegalArgumentException("unsupported JSON node type " + n.getNodeType());
    }

    public static JsonNode toJsonNode(Value v) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return switch (v) {
            case NullValue n -> f.nullNode();
            case BooleanValue b -> f.booleanNode(b.value());
            case NumberValue n -> n.isInteger() && n.value().precision() - n.value().scale() < 400
                    ? f.numberNode(n.value().toBigIntegerExact()) : f.numberNode(n.value());
            case StringValue s -> f.textNode(s.value());
            case ArrayValue a -> {
                ArrayNode arr = f.arrayNode();
                for (Value x : a.items()) arr.add(toJsonNode(x));
                yield arr;
            }
            case SetValue s -> {
                ArrayNode arr = f.arrayNode();
                for (Value x : s.items()) arr.add(toJsonNode(x));
                yield arr;
            }
            case ObjectValue o -> {
                ObjectNode obj = f.objectNode();
                for (Map.Entry<Value, Value> e : o.map().entrySet()) obj.set(keyText(e.getKey()), toJsonNode(e.getValue()));
                yield obj;
            }
        };
    }

    /** Object keys in JSON: strings as they are, anything else as its JSON text (as OPA does). */
    public static String keyText(Value k) {
        return k instanceof StringValue s ? s.value() : write(k);
    }

    static Value fromJava(Object o, int depth) {
        if (depth > MAX_DEPTH) throw new IllegalArgumentException("value nested deeper than " + MAX_DEPTH + " levels");
        return switch (o) {
            case null -> NullValue.INSTANCE;
            case Value v -> v;
            case Boolean b -> Value.of(b);
            case String s -> new StringValue(s);
            case BigDecimal d -> NumberValue.of(d);
            case BigInteger i -> NumberValue.of(i);
            case Integer i -> NumberValue.of(i);
            case Long l -> NumberValue.of(l);
            case Short s -> NumberValue.of(s);
            case Byte b -> NumberValue.of(b);
            case Double d -> NumberValue.of(new BigDecimal(d.toString()));
            case Float f -> NumberValue.of(new BigDecimal(f.toString()));
            case JsonNode n -> fromJsonNode(n, depth);
            case Map<?, ?> m -> {
                TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
                for (Map.Entry<?, ?> e : m.entrySet()) out.put(fromJava(e.getKey(), depth + 1), fromJava(e.getValue(), depth + 1));
                yield ObjectValue.wrap(out);
            }
            case java.util.Set<?> s -> {
                TreeSet<Value> out = new TreeSet<>(Value.ORDER);
                for (Object x : s) out.add(fromJava(x, depth + 1));
                yield SetValue.wrap(out);
            }
            case Collection<?> c -> {
                ArrayList<Value> out = new ArrayList<>(c.size());
                for (Object x : c) out.add(fromJava(x, depth + 1));
                yield Value.wrapList(out);
            }
            case Object[] arr -> fromJava(List.of(arr), depth);
            default -> throw new IllegalArgumentException("cannot convert " + o.getClass().getName()
                    + " to a Rego value; pass Map, List, Set, String, Number, Boolean or null");
        };
    }

    static Object toJava(Value v) {
        return switch (v) {
            case NullValue n -> null;
            case BooleanValue b -> b.value();
            case NumberValue n -> n.isInteger() ? n.value().toBigIntegerExact() : n.value();
            case StringValue s -> s.value();
            case ArrayValue a -> {
                List<Object> out = new ArrayList<>(a.size());
                for (Value x : a.items()) out.add(toJava(x));
                yield out;
            }
            case SetValue s -> {
                List<Object> out = new ArrayList<>(s.size());
                for (Value x : s.items()) out.add(toJava(x));
                yield out;
            }
            case ObjectValue o -> {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Map.Entry<Value, Value> e : o.map().entrySet()) out.put(keyText(e.getKey()), toJava(e.getValue()));
                yield out;
            }
        };
    }

    public static String write(Value v) {
        StringBuilder sb = new StringBuilder();
        write(v, sb);
        return sb.toString();
    }

    public static void write(Value v, StringBuilder sb) {
        switch (v) {
            case NullValue n -> sb.append("null");
            case BooleanValue b -> sb.append(b.value());
            case NumberValue n -> sb.append(numberText(n.value()));
            case StringValue s -> quote(s.value(), sb);
            case ArrayValue a -> {
                sb.append('[');
                boolean first = true;
                for (Value x : a.items()) {
                    if (!first) sb.append(',');
                    first = false;
                    write(x, sb);
                }
                sb.append(']');
            }
            case SetValue s -> {
                sb.append('[');
                boolean first = true;
                for (Value x : s.items()) {
                    if (!first) sb.append(',');
                    first = false;
                    write(x, sb);
                }
                sb.append(']');
            }
            case ObjectValue o -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<Value, Value> e : o.map().entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    quote(keyText(e.getKey()), sb);
                    sb.append(':');
                    write(e.getValue(), sb);
                }
                sb.append('}');
            }
        }
    }

    /** Number text as OPA prints it: integers in full, other numbers in plain or exponent form. */
    public static String numberText(BigDecimal d) {
        if (d.scale() <= 0 && d.precision() - d.scale() <= 400) return d.toBigInteger().toString();
        if (d.scale() > 0 && d.scale() <= 400) return d.toPlainString();
        return d.toString().replace("E+", "e+").replace("E-", "e-");
    }

    public static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029') {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
