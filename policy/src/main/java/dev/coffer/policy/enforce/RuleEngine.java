package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The compiled policy + framework, as the enforcer uses it: the value of a {@code data} ref for
 * an input and a state. Returns null when the ref is undefined.
 */
interface RuleEngine {
    JsonNode evaluate(String ref, ObjectNode input, PolicyState state);
}
