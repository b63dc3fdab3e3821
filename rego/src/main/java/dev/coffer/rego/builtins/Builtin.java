package dev.coffer.rego.builtins;

/**
 * A built-in function: its Rego name, its number of operands ({@code -1} for variadic) and
 * its implementation. {@code nondeterministic} built-ins (time, random, http) are not cached.
 */
public record Builtin(String name, int arity, BuiltinFunction fn, boolean nondeterministic) {
    @FunctionalInterface
    public interface BuiltinFunction {
        /** Returns the result, or null for undefined; throws {@link BuiltinException} on bad operands. */
        dev.coffer.rego.value.Value apply(BuiltinContext ctx, dev.coffer.rego.value.Value[] args);
    }
}
