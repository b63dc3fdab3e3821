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
