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
        r.add("is_number", 1, (c, a) -> Value.of(a[0] instanceof NumberValue));
        r.add("is_boolean", 1, (c, a) -> Value.of(a[0] instanceof BooleanValue));
        r.add("is_array", 1, (c, a) -> Value.of(a[0] instanceof ArrayValue));
        r.add("is_set", 1, (c, a) -> Value.of(a[0] instanceof SetValue));
        r.add("is_object", 1, (c, a) -> Value.of(a[0] instanceof ObjectValue));
        r.add("is_null", 1, (c, a) -> Value.of(a[0] instanceof NullValue));
        r.add("type_name", 1, (c, a) -> Value.of(a[0].typeName()));
    }
}
