package dev.coffer.rego.value;

import java.util.Collections;
import java.util.HashSet;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * A set, kept sorted in Rego order; {@code items} is never mutated after construction. A class
 * rather than a record so that it can keep a hash index for membership tests (built on the first
 * test of a set with {@link ObjectValue#INDEXED_SIZE} members or more) and its hash code.
 */
public final class SetValue implements Value {
    public static final SetValue EMPTY = new SetValue(Collections.unmodifiableNavigableSet(new TreeSet<>(Value.ORDER)));

    private final NavigableSet<Value> items;
    // published racily, complete before it is written (see ObjectValue)
    private volatile HashSet<Value> index;
    private int hash;

    public SetValue(NavigableSet<Value> items) {
        this.items = items;
    }

    /** The members in Rego order; unmodifiable. */
    public NavigableSet<Value> items() {
        return items;
    }

    public int size() {
        return items.size();
    }

    public boolean contains(Value v) {
        if (items.size() < ObjectValue.INDEXED_SIZE) return items.contains(v);
        HashSet<Value> ix = index;
        if (ix == null) {
            ix = new HashSet<>(items);
            index = ix;
        }
        return ix.contains(v);
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

    @Override
    public boolean equals(Object other) {
        if (other == this) return true;
        if (!(other instanceof SetValue o) || o.items.size() != items.size()) return false;
        int h = hash, oh = o.hash;
        if (h != 0 && oh != 0 && h != oh) return false;
        return o.items.equals(items);
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = items.hashCode();
            hash = h;
        }
        return h;
    }
}
