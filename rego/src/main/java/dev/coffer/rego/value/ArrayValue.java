package dev.coffer.rego.value;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * An array; never mutated after construction. A class rather than a record so that it keeps its
 * members in a plain array: the evaluator walks arrays on every iteration and comparison, and an
 * array read costs nothing where an unmodifiable list costs two interface calls per member
 * (measured: a tenth of an ACI create_container decision went to the wrappers' size and get).
 */
public final class ArrayValue implements Value {
    public static final ArrayValue EMPTY = new ArrayValue(new Value[0]);

    private final Value[] items;
    /** The read-only list view handed out by {@link #items()}, made on first use. */
    private List<Value> view;
    /** Searches so far ({@link #indexOf}); the second of a long array builds {@link #index}. Racy: a lost count only delays it. */
    private int searches;
    /** Where equal members are, built once an array is searched again; published whole (the volatile write). */
    private volatile MemberIndex index;

    /** An array of these members, copied (they must not be null). */
    public ArrayValue(List<Value> items) {
        this(copyOf(items));
    }

    private ArrayValue(Value[] owned) {
        this.items = owned;
    }

    private static Value[] copyOf(List<Value> items) {
        Value[] a = items.toArray(new Value[0]);
        for (Value v : a) Objects.requireNonNull(v, "array member");
        return a;
    }

    /** Wraps members the caller made and will not touch again (engine-internal; none null). */
    static ArrayValue wrap(Value[] owned) {
        return owned.length == 0 ? EMPTY : new ArrayValue(owned);
    }

    /** The members in order; unmodifiable. */
    public List<Value> items() {
        List<Value> v = view;
        if (v == null) {
            // a racy first use makes two equal views, both safely published through their final fields
            v = Collections.unmodifiableList(Arrays.asList(items));
            view = v;
        }
        return v;
    }

    public int size() {
        return items.length;
    }

    public Value get(int i) {
        return items[i];
    }

    /**
     * Arrays at least this long get a hash index on their second search: policies test membership
     * in the same list many times in one decision (each requested capability, mount option or
     * environment variable against the policy's list), and a linear search compares with every member.
     */
    static final int INDEXED_LENGTH = 8;

    /** The position of the first member equal to v, or -1. */
    public int indexOf(Value v) {
        return nextIndexOf(v, -1);
    }

    /**
     * The position of the first member after {@code after} that is equal to v, or -1: with -1 and
     * then each position returned, the positions of v's occurrences in order.
     */
    public int nextIndexOf(Value v, int after) {
        MemberIndex ix = index;
        if (ix == null && items.length >= INDEXED_LENGTH && after < 0 && ++searches >= 2) {
            ix = MemberIndex.of(items);
            index = ix;
        }
        if (ix != null && ix != MemberIndex.NONE) {
            if (after < 0) return ix.first(v);
            Value at = items[after];
            if (at == v || at.equals(v)) return ix.next[after];
        }
        for (int i = after + 1; i < items.length; i++) {
            Value x = items[i];
            if (x == v || x.equals(v)) return i;
        }
        return -1;
    }

    /**
     * Open addressing from a member to the position of its first occurrence, and from every
     * position to the next one holding an equal member: the positions of a value in order, without
     * comparing with the others. Equal values hash alike (numbers are normalised), so it finds
     * exactly what a linear search finds.
     */
    private static final class MemberIndex {
        static final MemberIndex NONE = new MemberIndex(new Value[0], new int[0], new int[0]);
        final Value[] keys;
        final int[] firstAt;
        final int[] next;

        private MemberIndex(Value[] keys, int[] firstAt, int[] next) {
            this.keys = keys;
            this.firstAt = firstAt;
            this.next = next;
        }

        /** The index of items, or NONE when members were chosen to collide (then searches stay linear). */
        static MemberIndex of(Value[] items) {
            int slots = Integer.highestOneBit(items.length * 2 - 1) << 1;
            Value[] keys = new Value[slots];
            int[] firstAt = new int[slots];
            int[] next = new int[items.length];
            int mask = slots - 1;
            // from the last member back, so that each value's slot ends at its first position
            for (int i = items.length - 1; i >= 0; i--) {
                Value x = items[i];
                int s = ObjectValue.slot(x.hashCode(), mask);
                for (int probes = 0; ; probes++, s = (s + 1) & mask) {
                    if (probes == ObjectValue.MAX_PROBES) return NONE;
                    if (keys[s] == null) {
                        keys[s] = x;
                        firstAt[s] = i;
                        next[i] = -1;
                        break;
                    }
                    if (keys[s].equals(x)) {
                        next[i] = firstAt[s];
                        firstAt[s] = i;
                        break;
                    }
                }
            }
            return new MemberIndex(keys, firstAt, next);
        }

        int first(Value v) {
            int mask = keys.length - 1;
            int s = ObjectValue.slot(v.hashCode(), mask);
            for (int probes = 0; probes < ObjectValue.MAX_PROBES; probes++, s = (s + 1) & mask) {
                Value k = keys[s];
                if (k == null) return -1;
                if (k == v || k.equals(v)) return firstAt[s];
            }
            // no insertion probed this far (of would have given up), so v is not a member
            return -1;
        }
    }

    @Override
    public String typeName() {
        return "array";
    }

    @Override
    public String toString() {
        return Json.write(this);
    }

    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof ArrayValue o && Arrays.equals(o.items, items);
    }

    /** Equal to the hash code of {@link #items()}, as List specifies it. */
    @Override
    public int hashCode() {
        return Arrays.hashCode(items);
    }
}
