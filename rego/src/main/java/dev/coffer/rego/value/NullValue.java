package dev.coffer.rego.value;

/** JSON null. */
public record NullValue() implements Value {
    public static final NullValue INSTANCE = new NullValue();

    @Override
    public String typeName() {
        return "null";
    }

    @Override
    public String toString() {
        return "null";
    }

    // written out: a record's generated equals/hashCode links through invokedynamic on first
    // use, which costs milliseconds in a fresh JVM for each value class
    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof NullValue;
    }

    @Override
    public int hashCode() {
        return 0x6e756c6c;
    }
}
