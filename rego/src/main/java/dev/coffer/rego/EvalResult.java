package dev.coffer.rego;

import dev.coffer.rego.value.Value;

import java.util.List;
import java.util.Map;

/**
 * What an evaluation produced. For a query: {@code rows}, one map of variable bindings per
 * solution (empty list = undefined; one empty map = true without variables). For a ref
 * evaluated with {@link CompiledPolicy#evalRef}: {@code value}, null when undefined (so
 * undefined and false are told apart). {@code prints} is the captured {@code print} output.
 */
public record EvalResult(List<Map<String, Value>> rows, Value value, List<String> prints) {
    public boolean isUndefined() {
        return value == null && rows.isEmpty();
    }
}
