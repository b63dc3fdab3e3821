package dev.coffer.rego.value;

import java.util.Collections;
import java.util.HashMap;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * An object whose keys may be any value, kept sorted in Rego order; never mutated after construction.
 * A class rather than a record so that it can keep what lookups need beside the sorted map: a hash
 * index, built on the first lookup of an object with {@link #INDEXED_SIZE} keys or more (a policy's
 * objects are read many times per decision; a lookup in the sorted map compares the key with
 * several others), and its hash code.
 */
public final class ObjectValue implements Value {
    public static final ObjectValue EMPTY = new ObjectValue(Collections.unmodifiableNavigableMap(new TreeMap<>(Value.ORDER)));
    /** Below this many keys, a lookup in the sorted map takes as few comparisons as hashing does. */
    static final int INDEXED_SIZE = 6;

    private final NavigableMap<Value, Value> map;
    // published racily: each is complete before it is written (a HashMap copied from the sorted
    // map, never changed after; an int), so a thread sees either null/0 or the whole thing
    private volatile HashMap<Value, Value> index;
    private int hash;

    public ObjectValue(NavigableMap<Value, Value> map) {
        this.map = map;
    }

    /** The members in Rego order; unmodifiable. */
    public NavigableMap<Value, Value> map() {
        return map;
    }

    public int size() {
        return map.size();
    }

    public Value get(Value key) {
        if (map.size() < INDEXED_SIZE) return map.get(key);
        HashMap<Value, Value> ix = index;
        if (ix == null) {
            // equal values have equal hash codes and compare as equal in Rego order (numbers are
            // normalised), so the index finds exactly what the sorted map finds
            ix = new HashMap<>(map);
            index = ix;
        }
        return ix.get(key);
    }

    public Value get(String key) {
        return get(new StringValue(key));
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

    @Override
    public boolean equals(Object other) {
        if (other == this) return true;
        if (!(other instanceof ObjectValue o) || o.map.size() != map.size()) return false;
        int h = hash, oh = o.hash;
        if (h != 0 && oh != 0 && h != oh) return false;
        return o.map.equals(map);
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = map.hashCode();
            hash = h;
        }
        return h;
    }
}
