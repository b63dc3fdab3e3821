package dev.coffer.rego;

/** A Rego source file: {@code name} is used in error locations. */
public record RegoModule(String name, String source) {
    public RegoModule {
        if (name == null || source == null) throw new IllegalArgumentException("module name and source are required");
    }
}
