package dev.coffer.rego.value;

/** A Unicode string. */
public record StringValue(String value) implements Value {
    public static final StringValue EMPTY = new StringValue("");

    @Override
    public String typeName() {
        return "string";
    }

    @Override
    public String toString() {
        return Json.write(this);
    }

    // written out: a record's generated equals/hashCode links through invokedynamic on first
    // use, which costs milliseconds in a fresh JVM for each value class
    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof StringValue o && o.value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }
}
