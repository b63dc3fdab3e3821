package dev.coffer.agent.enforce;

import dev.coffer.agent.protocol.Request;

/**
 * Judges every host request before the agent acts on it (DESIGN.md §1: each request is a policy
 * enforcement point). The Rego policy enforcer of a later issue implements this; until then the
 * only implementation is {@link AllowAllEnforcer}, which the agent uses only when explicitly told to.
 */
public interface Enforcer {
    /** Short name reported in the agent's properties and the group state, e.g. "allow-all". */
    String name();

    Decision decide(Request request);

    /** The outcome of judging one request. */
    sealed interface Decision {
        record Allow() implements Decision {}

        /** @param reason which rule refused the request and why, in one line */
        record Deny(String reason) implements Decision {}
    }
}
