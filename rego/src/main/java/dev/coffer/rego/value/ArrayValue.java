package dev.coffer.rego.value;

import java.util.List;

/** An array; {@code items} is never mutated after construction. */
public record ArrayValue(List<Value> items) implements Value {
    public static final ArrayValue EMPTY = new ArrayValue(List.of());

    public int size() {
        return items.size();
    }

    public Value get(int i) {
        return items.get(i);
    }

    @Override
    public String typeName() {
        return "array";
    }

    @Override
    public String toString() {
        return Json.write(this);
    }

    // written out: a record's generated equals/hashCode links through invokedynamic on first
    // use, which costs milliseconds in a fresh JVM for each value class
    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof ArrayValue o && o.items.equals(items);
    }

    @Override
    public int hashCode() {
        return items.hashCode();
    }
}
