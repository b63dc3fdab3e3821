package dev.coffer.rego.value;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A Rego value: the JSON types plus sets, with OPA's total order
 * (null &lt; boolean &lt; number &lt; string &lt; array &lt; object &lt; set).
 * Values are immutable; sets and objects keep their members in that order, which is also
 * the order in which Rego iterates them.
 */
public sealed interface Value extends Comparable<Value>
        permits NullValue, BooleanValue, NumberValue, StringValue, ArrayValue, ObjectValue, SetValue {

    Comparator<Value> ORDER = Value::compareValues;

    /** Rego type name as returned by {@code type_name}. */
    String typeName();

    @Override
    default int compareTo(Value o) {
        return compareValues(this, o);
    }

    static Value of(boolean b) {
        return b ? BooleanValue.TRUE : BooleanValue.FALSE;
    }

    static Value of(String s) {
        return new StringValue(s);
    }

    static Value of(long n) {
        return NumberValue.of(n);
    }

    static Value of(BigDecimal n) {
        return NumberValue.of(n);
    }

    static Value nullValue() {
        return NullValue.INSTANCE;
    }

    static ArrayValue array(Value... items) {
        Value[] a = items.clone();
        for (Value v : a) java.util.Objects.requireNonNull(v, "array member");
        return ArrayValue.wrap(a);
    }

    static ArrayValue array(List<? extends Value> items) {
        return new ArrayValue(List.copyOf(items));
    }

    static SetValue set(Iterable<? extends Value> items) {
        TreeSet<Value> s = new TreeSet<>(ORDER);
        for (Value v : items) s.add(v);
        return new SetValue(Collections.unmodifiableNavigableSet(s));
    }

    static ObjectValue object(Map<? extends Value, ? extends Value> map) {
        TreeMap<Value, Value> m = new TreeMap<>(ORDER);
        m.putAll(map);
        return new ObjectValue(Collections.unmodifiableNavigableMap(m));
    }

    /** Converts plain Java (Map, List, Collection, String, Number, Boolean, null, Value) to a Value. */
    static Value fromJava(Object o) {
        return Json.fromJava(o, 0);
    }

    /** Converts to plain Java: LinkedHashMap/ArrayList/String/BigDecimal or BigInteger/Boolean/null; sets become sorted lists. */
    default Object toJava() {
        return Json.toJava(this);
    }

    /** Compact JSON text (sets as sorted arrays, non-string object keys as their JSON text). */
    default String toJson() {
        return Json.write(this);
    }

    private static int rank(Value v) {
        return switch (v) {
            case NullValue n -> 0;
            case BooleanValue b -> 1;
            case NumberValue n -> 2;
            case StringValue s -> 3;
            case ArrayValue a -> 4;
            case ObjectValue o -> 5;
            case SetValue s -> 6;
        };
    }

    static int compareValues(Value a, Value b) {
        if (a == b) return 0;
        // the common case (object keys) without the two type switches
        if (a instanceof StringValue x && b instanceof StringValue y) return x.value().compareTo(y.value());
        int ra = rank(a), rb = rank(b);
        if (ra != rb) return Integer.compare(ra, rb);
        return switch (a) {
            case NullValue n -> 0;
            case BooleanValue x -> Boolean.compare(x.value(), ((BooleanValue) b).value());
            case NumberValue x -> x.value().compareTo(((NumberValue) b).value());
            case StringValue x -> x.value().compareTo(((StringValue) b).value());
            case ArrayValue x -> {
                ArrayValue y = (ArrayValue) b;
                int n = Math.min(x.size(), y.size());
                for (int i = 0; i < n; i++) {
                    int c = compareValues(x.get(i), y.get(i));
                    if (c != 0) yield c;
                }
                yield Integer.compare(x.size(), y.size());
            }
            case SetValue x -> compareIter(x.items().iterator(), ((SetValue) b).items().iterator());
            case ObjectValue x -> {
                Iterator<Map.Entry<Value, Value>> ia = x.map().entrySet().iterator();
                Iterator<Map.Entry<Value, Value>> ib = ((ObjectValue) b).map().entrySet().iterator();
                while (ia.hasNext() && ib.hasNext()) {
                    Map.Entry<Value, Value> ea = ia.next(), eb = ib.next();
                    int c = compareValues(ea.getKey(), eb.getKey());
                    if (c != 0) yield c;
                    c = compareValues(ea.getValue(), eb.getValue());
                    if (c != 0) yield c;
                }
                yield Boolean.compare(ia.hasNext(), ib.hasNext());
            }
        };
    }

    private static int compareIter(Iterator<Value> ia, Iterator<Value> ib) {
        while (ia.hasNext() && ib.hasNext()) {
            int c = compareValues(ia.next(), ib.next());
            if (c != 0) return c;
        }
        return Boolean.compare(ia.hasNext(), ib.hasNext());
    }

    /** Builds lists without copying; for engine-internal construction. */
    static ArrayValue wrapList(ArrayList<Value> owned) {
        return ArrayValue.wrap(owned.toArray(new Value[0]));
    }

    static BigInteger requireInteger(Value v) {
        return v instanceof NumberValue n && n.isInteger() ? n.value().toBigIntegerExact() : null;
    }
}
