package dev.coffer.rego.value;

import java.util.Collections;
import java.util.NavigableMap;
import java.util.TreeMap;

/** An object whose keys may be any value, kept sorted in Rego order; never mutated after construction. */
public record ObjectValue(NavigableMap<Value, Value> map) implements Value {
    public static final ObjectValue EMPTY = new ObjectValue(Collections.unmodifiableNavigableMap(new TreeMap<>(Value.ORDER)));

    public int size() {
        return map.size();
    }

    public Value get(Value key) {
        return map.get(key);
    }

    public Value get(String key) {
        return map.get(new StringValue(key));
    }

    /** Wraps a map the caller built and will not touch again. */
    public static ObjectValue wrap(TreeMap<Value, Value> owned) {
        return new ObjectValue(Collections.unmodifiableNavigableMap(owned));
    }

    @Override
    public String typeName() {
        return "object";
    }

    @Override
    public String toString() {
        return Json.write(this);
    }

    // written out: a record's generated equals/hashCode links through invokedynamic on first
    // use, which costs milliseconds in a fresh JVM for each value class
    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof ObjectValue o && o.map.equals(map);
    }

    @Override
    public int hashCode() {
        return map.hashCode();
    }
}
