package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.util.ArrayList;

/** count, sum, product, max, min, sort, all, any. */
final class Aggregates {
    private Aggregates() {
    }

    static void register(Builtins.Registry r) {
        r.add("count", 1, (c, a) -> switch (a[0]) {
            case ArrayValue x -> NumberValue.of(x.size());
            case SetValue x -> NumberValue.of(x.size());
            case ObjectValue x -> NumberValue.of(x.size());
            case StringValue s -> NumberValue.of(s.value().codePointCount(0, s.value().length()));
            default -> throw Args.typeErr("count", 0, "one of {array, object, set, string}", a[0]);
        });
        r.add("sum", 1, (c, a) -> {
            BigDecimal s = BigDecimal.ZERO;
            for (Value v : Args.collection("sum", a, 0)) {
                if (!(v instanceof NumberValue n)) throw Args.typeErr("sum", 0, "one of {array, set}", a[0]);
                s = s.add(n.value());
            }
            return NumberValue.of(s);
        });
        r.add("product", 1, (c, a) -> {
            BigDecimal s = BigDecimal.ONE;
            for (Value v : Args.collection("product", a, 0)) {
                if (!(v instanceof NumberValue n)) throw Args.typeErr("product", 0, "one of {array, set}", a[0]);
                s = s.multiply(n.value());
            }
            return NumberValue.of(s);
        });
        r.add("max", 1, (c, a) -> {
            Value best = null;
            for (Value v : Args.collection("max", a, 0)) if (best == null || Value.compareValues(v, best) > 0) best = v;
            return best;
        });
        r.add("min", 1, (c, a) -> {
            Value best = null;
            for (Value v : Args.collection("min", a, 0)) if (best == null || Value.compareValues(v, best) < 0) best = v;
            return best;
        });
        r.add("sort", 1, (c, a) -> {
            ArrayList<Value> out = new ArrayList<>();
            for (Value v : Args.collection("sort", a, 0)) out.add(v);
            out.sort(Value.ORDER);
            return Value.wrapList(out);
        });
        r.add("all", 1, (c, a) -> {
            for (Value v : Args.collection("all", a, 0)) if (!v.equals(BooleanValue.TRUE)) return BooleanValue.FALSE;
            return BooleanValue.TRUE;
        });
        r.add("any", 1, (c, a) -> {
            for (Value v : Args.collection("any", a, 0)) if (v.equals(BooleanValue.TRUE)) return BooleanValue.TRUE;
            return BooleanValue.FALSE;
        });
    }
}
