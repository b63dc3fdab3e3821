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
}
