package dev.coffer.policy.simulate;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.policy.enforce.Decision;

/**
 * One replayed request: the decision, what happened to its state change ("committed",
 * "rolled-back" because the step says the host operation failed, or "denied"), and the
 * policy state after it.
 */
public record SimulationStep(int index, Decision decision, String outcome, ObjectNode stateAfter) {}
