package dev.coffer.policy.enforce;

import dev.coffer.rego.value.Value;

/**
 * The compiled policy + framework, as the enforcer uses it: the value of a {@code data} ref for
 * an input and a state. Returns null when the ref is undefined. Values stay Rego values: the
 * enforcer reads the few fields a decision needs and converts to JSON only what it keeps.
 */
interface RuleEngine {
    Value evaluate(String ref, Value input, PolicyState state);
}
