package dev.coffer.rego.value;

/** JSON boolean. */
public record BooleanValue(boolean value) implements Value {
    public static final BooleanValue TRUE = new BooleanValue(true);
    public static final BooleanValue FALSE = new BooleanValue(false);

    @Override
    public String typeName() {
        return "boolean";
    }

    @Override
    public String toString() {
        return Boolean.toString(value);
    }

    // written out: a record's generated equals/hashCode links through invokedynamic on first
    // use, which costs milliseconds in a fresh JVM for each value class
    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof BooleanValue o && o.value == value;
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(value);
    }
}
