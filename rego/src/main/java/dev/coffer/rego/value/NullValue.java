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
}
