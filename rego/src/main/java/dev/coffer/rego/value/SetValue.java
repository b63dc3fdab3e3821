package dev.coffer.rego.value;

import java.util.Collections;
import java.util.NavigableSet;
import java.util.TreeSet;

/** A set, kept sorted in Rego order; {@code items} is never mutated after construction. */
public record SetValue(NavigableSet<Value> items) implements Value {
    public static final SetValue EMPTY = new SetValue(Collections.unmodifiableNavigableSet(new TreeSet<>(Value.ORDER)));

    public int size() {
        return items.size();
    }

    public boolean contains(Value v) {
        return items.contains(v);
    }

    /** Wraps a set the caller built and will not touch again. */
    public static SetValue wrap(TreeSet<Value> owned) {
        return new SetValue(Collections.unmodifiableNavigableSet(owned));
    }

    @Override
    public String typeName() {
        return "set";
    }

    @Override
    public String toString() {
        return Json.write(this);
    }

    // written out: a record's generated equals/hashCode links through invokedynamic on first
    // use, which costs milliseconds in a fresh JVM for each value class
    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof SetValue o && o.items.equals(items);
    }

    @Override
    public int hashCode() {
        return items.hashCode();
    }
}
