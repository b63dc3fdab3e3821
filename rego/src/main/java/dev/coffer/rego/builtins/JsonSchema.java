package dev.coffer.rego.builtins;

import com.google.re2j.Pattern;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.NullValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * json.verify_schema and json.match_schema: JSON Schema (draft 4 to 7 keywords: type, enum,
 * const, properties, required, additionalProperties, patternProperties, items, min/max*,
 * pattern, uniqueItems, allOf/anyOf/oneOf/not, local $ref) with the error objects and
 * wording of gojsonschema, which OPA uses.
 */
final class JsonSchema {
    private static final Set<String> TYPES = Set.of("array", "boolean", "integer", "number", "null", "object", "string");

    private JsonSchema() {
    }

    static void register(Builtins.Registry r) {
        r.add("json.verify_schema", 1, (c, a) -> {
            try {
                verify(schemaOf("json.verify_schema", a, 0));
                return Value.array(BooleanValue.TRUE, NullValue.INSTANCE);
            } catch (IllegalArgumentException e) {
                return Value.array(BooleanValue.FALSE, Value.of("jsonschema: " + e.getMessage()));
            }
        });
        r.add("json.match_schema", 2, (c, a) -> {
            Value doc = a[0] instanceof StringValue s ? parse("json.match_schema", s.value()) : a[0];
            Value schema = schemaOf("json.match_schema", a, 1);
            try {
                verify(schema);
            } catch (IllegalArgumentException e) {
                throw BuiltinException.builtin("json.match_schema", e.getMessage());
            }
            List<Value> errors = new ArrayList<>();
            new Validator(schema).validate(schema, doc, "(root)", errors);
            return Value.array(Value.of(errors.isEmpty()), Value.array(errors));
        });
    }

    private static Value schemaOf(String fn, Value[] a, int i) {
        if (a[i] instanceof StringValue s) return parse(fn, s.value());
        if (a[i] instanceof ObjectValue || a[i] instanceof BooleanValue) return a[i];
        throw Args.typeErr(fn, i, "one of {string, object}", a[i]);
    }

    private static Value parse(String fn, String text) {
        try {
            return Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw BuiltinException.builtin(fn, "invalid JSON: " + e.getMessage());
        }
    }

    /** Rejects schemas gojsonschema would not load; messages in its wording. */
    static void verify(Value schema) {
        if (schema instanceof BooleanValue) return;
        if (!(schema instanceof ObjectValue o)) throw new IllegalArgumentException("Invalid type. Expected: object, given: " + typeOf(schema));
        Value t = o.get(Value.of("type"));
        if (t != null) {
            List<Value> ts = t instanceof ArrayValue arr ? arr.items() : List.of(t);
            for (Value x : ts) {
                if (!(x instanceof StringValue s) || !TYPES.contains(s.value()))
                    throw new IllegalArgumentException("has a primitive type that is NOT VALID -- given: /" + (x instanceof StringValue s ? s.value() : x.toJson())
                            + "/ Expected valid values are:[array boolean integer number null object string]");
            }
        }
        for (String k : List.of("properties", "patternProperties", "definitions", "$defs")) {
            if (o.get(Value.of(k)) instanceof ObjectValue props) for (Value sub : props.map().values()) verify(sub);
        }
        for (String k : List.of("items", "additionalProperties", "additionalItems", "not")) {
            Value sub = o.get(Value.of(k));
            if (sub instanceof ArrayValue arr) for (Value x : arr.items()) verify(x);
            else if (sub instanceof ObjectValue) verify(sub);
        }
        for (String k : List.of("allOf", "anyOf", "oneOf")) {
            if (o.get(Value.of(k)) instanceof ArrayValue arr) for (Value x : arr.items()) verify(x);
        }
        if (o.get(Value.of("pattern")) instanceof StringValue p) {
            try {
                Pattern.compile(p.value());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("Invalid pattern '" + p.value() + "'");
            }
        }
    }

    static String typeOf(Value v) {
        return switch (v) {
            case NumberValue n -> n.isInteger() ? "integer" : "number";
            case StringValue s -> "string";
            case BooleanValue b -> "boolean";
            case NullValue n -> "null";
            case ArrayValue a -> "array";
            case SetValue s -> "array";
            default -> "object";
        };
    }

    private record Validator(Value root) {
        private static void add(List<Value> errors, String field, String type, String desc) {
            TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
            m.put(Value.of("field"), Value.of(field));
            m.put(Value.of("type"), Value.of(type));
            m.put(Value.of("desc"), Value.of(desc));
            m.put(Value.of("error"), Value.of(field + ": " + desc));
            errors.add(ObjectValue.wrap(m));
        }

        private static String child(String field, String key) {
            return field.equals("(root)") ? key : field + "." + key;
        }

        private Value resolve(String ref) {
            if (!ref.startsWith("#")) throw BuiltinException.builtin("json.match_schema", "only local $ref (#/...) is supported, found " + ref);
            Value cur = root;
            for (String part : ref.substring(1).split("/")) {
                if (part.isEmpty()) continue;
                part = part.replace("~1", "/").replace("~0", "~");
                cur = cur instanceof ObjectValue o ? o.get(Value.of(part)) : null;
                if (cur == null) throw BuiltinException.builtin("json.match_schema", "cannot resolve $ref " + ref);
            }
            return cur;
        }

        void validate(Value schema, Value v, String field, List<Value> errors) {
            if (schema instanceof BooleanValue b) {
                if (!b.value()) add(errors, field, "false", "False always fails validation");
                return;
            }
            if (!(schema instanceof ObjectValue s)) return;
            if (s.get(Value.of("$ref")) instanceof StringValue ref) {
                validate(resolve(ref.value()), v, field, errors);
                return;
            }
            Value t = s.get(Value.of("type"));
            if (t != null) {
                List<Value> ts = t instanceof ArrayValue arr ? arr.items() : List.of(t);
                String given = typeOf(v);
                boolean ok = false;
                for (Value x : ts) {
                    String want = ((StringValue) x).value();
                    if (want.equals(given) || want.equals("number") && given.equals("integer")) ok = true;
                }
                if (!ok) {
                    StringBuilder exp = new StringBuilder();
                    for (Value x : ts) exp.append(exp.isEmpty() ? "" : "/").append(((StringValue) x).value());
                    add(errors, field, "invalid_type", "Invalid type. Expected: " + exp + ", given: " + given);
                    return;
                }
            }
            if (s.get(Value.of("enum")) instanceof ArrayValue en && !en.items().contains(v)) {
                StringBuilder allowed = new StringBuilder();
                for (Value x : en.items()) allowed.append(allowed.isEmpty() ? "" : ", ").append(x.toJson());
                add(errors, field, "enum", field + " must be one of the following: " + allowed);
            }
            Value cst = s.get(Value.of("const"));
            if (cst != null && !cst.equals(v)) add(errors, field, "const", field + " does not match: " + cst.toJson());
            if (v instanceof NumberValue n) numbers(s, n.value(), field, errors);
            if (v instanceof StringValue str) strings(s, str.value(), field, errors);
            if (v instanceof ArrayValue arr) arrays(s, arr.items(), field, errors);
            if (v instanceof ObjectValue o) objects(s, o, field, errors);
            combinators(s, v, field, errors);
        }

        private void numbers(ObjectValue s, BigDecimal n, String field, List<Value> errors) {
            if (s.get(Value.of("minimum")) instanceof NumberValue m && n.compareTo(m.value()) < 0)
                add(errors, field, "number_gte", "Must be greater than or equal to " + m);
            if (s.get(Value.of("maximum")) instanceof NumberValue m && n.compareTo(m.value()) > 0)
                add(errors, field, "number_lte", "Must be less than or equal to " + m);
            if (s.get(Value.of("exclusiveMinimum")) instanceof NumberValue m && n.compareTo(m.value()) <= 0)
                add(errors, field, "number_gt", "Must be greater than " + m);
            if (s.get(Value.of("exclusiveMaximum")) instanceof NumberValue m && n.compareTo(m.value()) >= 0)
                add(errors, field, "number_lt", "Must be less than " + m);
            if (s.get(Value.of("multipleOf")) instanceof NumberValue m && m.value().signum() > 0
                    && n.remainder(m.value()).signum() != 0)
                add(errors, field, "multiple_of", "Must be a multiple of " + m);
        }

        private void strings(ObjectValue s, String str, String field, List<Value> errors) {
            int len = str.codePointCount(0, str.length());
            if (s.get(Value.of("minLength")) instanceof NumberValue m && len < m.value().intValue())
                add(errors, field, "string_gte", "String length must be greater than or equal to " + m);
            if (s.get(Value.of("maxLength")) instanceof NumberValue m && len > m.value().intValue())
                add(errors, field, "string_lte", "String length must be less than or equal to " + m);
            if (s.get(Value.of("pattern")) instanceof StringValue p && !Pattern.compile(p.value()).matcher(str).find())
                add(errors, field, "pattern", "Does not match pattern '" + p.value() + "'");
        }

        private void arrays(ObjectValue s, List<Value> items, String field, List<Value> errors) {
            if (s.get(Value.of("minItems")) instanceof NumberValue m && items.size() < m.value().intValue())
                add(errors, field, "array_min_items", "Array must have at least " + m + " items");
            if (s.get(Value.of("maxItems")) instanceof NumberValue m && items.size() > m.value().intValue())
                add(errors, field, "array_max_items", "Array must have at most " + m + " items");
            if (s.get(Value.of("uniqueItems")) instanceof BooleanValue u && u.value()) {
                outer:
                for (int i = 0; i < items.size(); i++)
                    for (int j = i + 1; j < items.size(); j++)
                        if (items.get(i).equals(items.get(j))) {
                            add(errors, field, "unique", "array items[" + i + "," + j + "] must be unique");
                            break outer;
                        }
            }
            Value it = s.get(Value.of("items"));
            if (it instanceof ArrayValue tuple) {
                for (int i = 0; i < items.size() && i < tuple.size(); i++) validate(tuple.get(i), items.get(i), child(field, Integer.toString(i)), errors);
                Value extra = s.get(Value.of("additionalItems"));
                if (extra instanceof BooleanValue b && !b.value() && items.size() > tuple.size())
                    add(errors, field, "array_no_additional_items", "No additional items allowed on array");
                else if (extra instanceof ObjectValue)
                    for (int i = tuple.size(); i < items.size(); i++) validate(extra, items.get(i), child(field, Integer.toString(i)), errors);
            } else if (it != null) {
                for (int i = 0; i < items.size(); i++) validate(it, items.get(i), child(field, Integer.toString(i)), errors);
            }
        }

        private void objects(ObjectValue s, ObjectValue o, String field, List<Value> errors) {
            if (s.get(Value.of("required")) instanceof ArrayValue req) {
                for (Value k : req.items())
                    if (o.get(k) == null && k instanceof StringValue ks) add(errors, field, "required", ks.value() + " is required");
            }
            if (s.get(Value.of("minProperties")) instanceof NumberValue m && o.map().size() < m.value().intValue())
                add(errors, field, "array_min_properties", "Must have at least " + m + " properties");
            if (s.get(Value.of("maxProperties")) instanceof NumberValue m && o.map().size() > m.value().intValue())
                add(errors, field, "array_max_properties", "Must have at most " + m + " properties");
            ObjectValue props = s.get(Value.of("properties")) instanceof ObjectValue p ? p : ObjectValue.EMPTY;
            ObjectValue patterns = s.get(Value.of("patternProperties")) instanceof ObjectValue p ? p : ObjectValue.EMPTY;
            Value additional = s.get(Value.of("additionalProperties"));
            for (Map.Entry<Value, Value> e : o.map().entrySet()) {
                String key = e.getKey() instanceof StringValue ks ? ks.value() : e.getKey().toJson();
                boolean matched = false;
                Value ps = props.get(e.getKey());
                if (ps != null) {
                    matched = true;
                    validate(ps, e.getValue(), child(field, key), errors);
                }
                for (Map.Entry<Value, Value> pp : patterns.map().entrySet()) {
                    if (pp.getKey() instanceof StringValue re && Pattern.compile(re.value()).matcher(key).find()) {
                        matched = true;
                        validate(pp.getValue(), e.getValue(), child(field, key), errors);
                    }
                }
                if (!matched) {
                    if (additional instanceof BooleanValue b && !b.value())
                        add(errors, field, "additional_property_not_allowed", "Additional property " + key + " is not allowed");
                    else if (additional instanceof ObjectValue) validate(additional, e.getValue(), child(field, key), errors);
                }
            }
        }

        private void combinators(ObjectValue s, Value v, String field, List<Value> errors) {
            if (s.get(Value.of("allOf")) instanceof ArrayValue all) {
                List<Value> sub = new ArrayList<>();
                for (Value x : all.items()) validate(x, v, field, sub);
                if (!sub.isEmpty()) {
                    errors.addAll(sub);
                    add(errors, field, "number_all_of", "Must validate all the schemas (allOf)");
                }
            }
            if (s.get(Value.of("anyOf")) instanceof ArrayValue any) {
                boolean ok = false;
                for (Value x : any.items()) {
                    List<Value> sub = new ArrayList<>();
                    validate(x, v, field, sub);
                    if (sub.isEmpty()) ok = true;
                }
                if (!ok) add(errors, field, "number_any_of", "Must validate at least one schema (anyOf)");
            }
            if (s.get(Value.of("oneOf")) instanceof ArrayValue one) {
                int passing = 0;
                for (Value x : one.items()) {
                    List<Value> sub = new ArrayList<>();
                    validate(x, v, field, sub);
                    if (sub.isEmpty()) passing++;
                }
                if (passing != 1) add(errors, field, "number_one_of", "Must validate one and only one schema (oneOf)");
            }
            Value not = s.get(Value.of("not"));
            if (not != null) {
                List<Value> sub = new ArrayList<>();
                validate(not, v, field, sub);
                if (sub.isEmpty()) add(errors, field, "number_not", "Must not validate the schema (not)");
            }
        }
    }
}
