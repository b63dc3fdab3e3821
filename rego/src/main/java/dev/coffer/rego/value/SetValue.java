package dev.coffer.rego.value;

import java.util.Collections;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * A set, kept sorted in Rego order; {@code items} is never mutated after construction. A class
 * rather than a record so that it can keep a hash index for membership tests (built on the first
 * test) and its hash code.
 */
public final class SetValue implements Value {
    public static final SetValue EMPTY = new SetValue(Collections.unmodifiableNavigableSet(new TreeSet<>(Value.ORDER)));

    private final NavigableSet<Value> items;
    /** Open addressing, at most half full; filled before it is published, never changed after. */
    private volatile Value[] index;
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
        Value[] ix = index;
        if (ix == null) {
            if (items.isEmpty()) return false;
            ix = buildIndex(items);
            index = ix;
        }
        if (ix == NO_INDEX) return items.contains(v);
        // equal values hash alike and compare as equal in Rego order (see ObjectValue.get)
        int mask = ix.length - 1;
        int i = ObjectValue.slot(v.hashCode(), mask);
        for (int probes = 0; probes < ObjectValue.MAX_PROBES; probes++, i = (i + 1) & mask) {
            Value x = ix[i];
            if (x == null) return false;
            if (x == v || x.equals(v)) return true;
        }
        return items.contains(v); // members chosen to collide: the sorted set answers in log n
    }

    /** The index of a set whose members collide too much (see ObjectValue.MAX_PROBES). */
    private static final Value[] NO_INDEX = new Value[0];

    private static Value[] buildIndex(NavigableSet<Value> items) {
        int slots = Integer.highestOneBit(Math.max(2, items.size()) * 2 - 1) << 1;
        Value[] ix = new Value[slots];
        for (Value x : items) {
            int i = ObjectValue.slot(x.hashCode(), slots - 1);
            for (int probes = 0; ix[i] != null; probes++, i = (i + 1) & (slots - 1)) {
                if (probes == ObjectValue.MAX_PROBES) return NO_INDEX;
            }
            ix[i] = x;
        }
        return ix;
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
