package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NullValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

/** is_string, is_number, ..., type_name. */
final class Types {
    private Types() {
    }

    static void register(Builtins.Registry r) {
        r.add("is_string", 1, (c, a) -> Value.of(a[0] instanceof StringValue));
        // OPA's deprecated built-ins: v0 modules may call them, v1 modules may not (Compiler refuses them there)
        r.add("set_diff", 2, (c, a) -> {
            java.util.TreeSet<Value> out = new java.util.TreeSet<>(Value.ORDER);
            out.addAll(Args.set("set_diff", a, 0).items());
            out.removeAll(Args.set("set_diff", a, 1).items());
            return SetValue.wrap(out);
        });
        r.add("cast_array", 1, (c, a) -> switch (a[0]) {
            case ArrayValue arr -> arr;
            case SetValue set -> new ArrayValue(java.util.List.copyOf(set.items()));
            default -> throw Args.typeErr("cast_array", 0, "one of {array, set}", a[0]);
        });
        r.add("cast_set", 1, (c, a) -> switch (a[0]) {
            case SetValue set -> set;
            case ArrayValue arr -> {
                java.util.TreeSet<Value> out = new java.util.TreeSet<>(Value.ORDER);
                out.addAll(arr.items());
                yield SetValue.wrap(out);
            }
            default -> throw Args.typeErr("cast_set", 0, "one of {array, set}", a[0]);
        });
        r.add("cast_string", 1, (c, a) -> castExact("cast_string", a[0], StringValue.class, "string"));
        r.add("cast_boolean", 1, (c, a) -> castExact("cast_boolean", a[0], BooleanValue.class, "boolean"));
        r.add("cast_null", 1, (c, a) -> castExact("cast_null", a[0], NullValue.class, "null"));
        r.add("cast_object", 1, (c, a) -> castExact("cast_object", a[0], ObjectValue.class, "object"));
        r.add("is_number", 1, (c, a) -> Value.of(a[0] instanceof NumberValue));
        r.add("is_boolean", 1, (c, a) -> Value.of(a[0] instanceof BooleanValue));
        r.add("is_array", 1, (c, a) -> Value.of(a[0] instanceof ArrayValue));
        r.add("is_set", 1, (c, a) -> Value.of(a[0] instanceof SetValue));
        r.add("is_object", 1, (c, a) -> Value.of(a[0] instanceof ObjectValue));
        r.add("is_null", 1, (c, a) -> Value.of(a[0] instanceof NullValue));
        r.add("type_name", 1, (c, a) -> Value.of(a[0].typeName()));
    }

    /** The deprecated cast_* built-ins convert nothing: the operand must already be of the named type. */
    private static Value castExact(String fn, Value v, Class<? extends Value> type, String typeName) {
        if (!type.isInstance(v)) throw Args.typeErr(fn, 0, typeName, v);
        return v;
    }
}
