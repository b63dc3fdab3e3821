package dev.coffer.rego.value;

import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * An object whose keys may be any value, kept sorted in Rego order; never mutated after construction.
 * A class rather than a record so that it can keep what lookups need beside the sorted map: a hash
 * index, built on the first lookup (a policy's objects are read many times per decision, and a
 * lookup in the sorted map compares the key with several others through the comparator), and its
 * hash code.
 */
public final class ObjectValue implements Value {
    public static final ObjectValue EMPTY = new ObjectValue(Collections.unmodifiableNavigableMap(new TreeMap<>(Value.ORDER)));
    private final NavigableMap<Value, Value> map;
    /**
     * Open addressing, keys at even and values at odd positions, at most half full; filled before
     * it is published (the volatile write), never changed after.
     */
    private volatile Value[] index;
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
        Value[] ix = index;
        if (ix == null) {
            if (map.isEmpty()) return null;
            ix = buildIndex(map);
            index = ix;
        }
        if (ix == NO_INDEX) return map.get(key);
        // equal values have equal hash codes and compare as equal in Rego order (numbers are
        // normalised), so the index finds exactly what the sorted map finds
        int mask = (ix.length >> 1) - 1;
        int i = slot(key.hashCode(), mask);
        for (int probes = 0; probes < MAX_PROBES; probes++, i = (i + 1) & mask) {
            Value k = ix[i << 1];
            if (k == null) return null;
            if (k == key || k.equals(key)) return ix[(i << 1) + 1];
        }
        // a long run of occupied slots (keys chosen to hash alike): the sorted map answers in log n
        return map.get(key);
    }

    /**
     * Probes after which a lookup or an insertion stops: keys a hostile input chose to collide must
     * not make the index slower than the sorted map (an index whose insertions probe further is
     * not built at all, and a lookup that probes further asks the sorted map).
     */
    static final int MAX_PROBES = 16;
    /** The index of an object whose keys collide too much: lookups go to the sorted map. */
    private static final Value[] NO_INDEX = new Value[0];

    private static Value[] buildIndex(Map<Value, Value> map) {
        int slots = Integer.highestOneBit(Math.max(2, map.size()) * 2 - 1) << 1;
        Value[] ix = new Value[slots * 2];
        int mask = slots - 1;
        for (Map.Entry<Value, Value> e : map.entrySet()) {
            int i = slot(e.getKey().hashCode(), mask);
            for (int probes = 0; ix[i << 1] != null; probes++, i = (i + 1) & mask) {
                if (probes == MAX_PROBES) return NO_INDEX;
            }
            ix[i << 1] = e.getKey();
            ix[(i << 1) + 1] = e.getValue();
        }
        return ix;
    }

    static int slot(int hash, int mask) {
        return (hash ^ (hash >>> 16)) & mask;
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
