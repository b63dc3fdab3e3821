package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.TreeSet;

/** Comparison, arithmetic, set operators and membership ({@code in}). */
final class Operators {
    private Operators() {
    }

    static final MathContext DIV = new MathContext(34, RoundingMode.HALF_EVEN);

    static void register(Builtins.Registry r) {
        r.add("equal", 2, (c, a) -> Value.of(a[0].equals(a[1])));
        r.add("neq", 2, (c, a) -> Value.of(!a[0].equals(a[1])));
        r.add("lt", 2, (c, a) -> Value.of(Value.compareValues(a[0], a[1]) < 0));
        r.add("lte", 2, (c, a) -> Value.of(Value.compareValues(a[0], a[1]) <= 0));
        r.add("gt", 2, (c, a) -> Value.of(Value.compareValues(a[0], a[1]) > 0));
        r.add("gte", 2, (c, a) -> Value.of(Value.compareValues(a[0], a[1]) >= 0));
        r.add("plus", 2, (c, a) -> NumberValue.of(Args.num("plus", a, 0).add(Args.num("plus", a, 1))));
        r.add("mul", 2, (c, a) -> NumberValue.of(Args.num("mul", a, 0).multiply(Args.num("mul", a, 1))));
        r.add("minus", 2, Operators::minus);
        r.add("div", 2, (c, a) -> divide(Args.num("div", a, 0), Args.num("div", a, 1)));
        r.add("rem", 2, Operators::rem);
        r.add("and", 2, (c, a) -> intersect(Args.set("and", a, 0), Args.set("and", a, 1)));
        r.add("or", 2, (c, a) -> union(Args.set("or", a, 0), Args.set("or", a, 1)));
        r.add("internal.member_2", 2, (c, a) -> Value.of(member(a[0], a[1])));
        r.add("internal.member_3", 3, (c, a) -> Value.of(memberKV(a[0], a[1], a[2])));
        r.add("print", -1, (c, a) -> BooleanValue.TRUE);
        r.add("internal.print", 1, (c, a) -> BooleanValue.TRUE);
        // OPA: trace(note) adds the note to the query's trace (kept only when explain is on) and is always true
        r.add("trace", 1, (c, a) -> {
            Args.str("trace", a, 0);
            return BooleanValue.TRUE;
        });
        r.add("walk", 1, (c, a) -> null);
        // an embedded engine has no OPA runtime (config, environment, version) to report: empty, as OPA without one
        r.add("opa.runtime", 0, (c, a) -> dev.coffer.rego.value.ObjectValue.EMPTY);
        r.add("assign", 2, (c, a) -> Value.of(a[0].equals(a[1])));
        r.add("eq", 2, (c, a) -> Value.of(a[0].equals(a[1])));
    }

    private static Value minus(BuiltinContext c, Value[] a) {
        if (a[0] instanceof NumberValue x && a[1] instanceof NumberValue y) return NumberValue.of(x.value().subtract(y.value()));
        if (a[0] instanceof SetValue x && a[1] instanceof SetValue y) {
            TreeSet<Value> out = new TreeSet<>(Value.ORDER);
            out.addAll(x.items());
            out.removeAll(y.items());
            return SetValue.wrap(out);
        }
        if (!(a[0] instanceof NumberValue) && !(a[0] instanceof SetValue))
            throw Args.typeErr("minus", 0, "one of {number, set}", a[0]);
        throw Args.typeErr("minus", 1, a[0] instanceof NumberValue ? "number" : "set", a[1]);
    }

    static Value divide(BigDecimal x, BigDecimal y) {
        if (y.signum() == 0) throw BuiltinException.builtin("div", "divide by zero");
        try {
            return NumberValue.of(x.divide(y));
        } catch (ArithmeticException e) {
            return NumberValue.of(x.divide(y, DIV));
        }
    }

    private static Value rem(BuiltinContext c, Value[] a) {
        BigDecimal x = Args.num("rem", a, 0), y = Args.num("rem", a, 1);
        if (x.scale() > 0 || y.scale() > 0)
            throw BuiltinException.builtin("rem", "modulo on floating-point number");
        if (y.signum() == 0) throw BuiltinException.builtin("rem", "modulo by zero");
        return NumberValue.of(new BigDecimal(x.toBigIntegerExact().remainder(y.toBigIntegerExact())));
    }

    static SetValue intersect(SetValue x, SetValue y) {
        TreeSet<Value> out = new TreeSet<>(Value.ORDER);
        for (Value v : x.items()) if (y.contains(v)) out.add(v);
        return SetValue.wrap(out);
    }

    static SetValue union(SetValue x, SetValue y) {
        TreeSet<Value> out = new TreeSet<>(Value.ORDER);
        out.addAll(x.items());
        out.addAll(y.items());
        return SetValue.wrap(out);
    }

    static boolean member(Value x, Value coll) {
        return switch (coll) {
            case ArrayValue a -> a.indexOf(x) >= 0;
            case SetValue s -> s.contains(x);
            case ObjectValue o -> o.map().containsValue(x);
            default -> false;
        };
    }

    static boolean memberKV(Value k, Value v, Value coll) {
        return switch (coll) {
            case ArrayValue a -> k instanceof NumberValue n && n.intValueExact() != null && n.intValueExact() >= 0
                    && n.intValueExact() < a.size() && a.get(n.intValueExact()).equals(v);
            case SetValue s -> k.equals(v) && s.contains(v);
            case ObjectValue o -> v.equals(o.get(k));
            default -> false;
        };
    }

    static boolean isString(Value v) {
        return v instanceof StringValue;
    }
}
