package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * Checks every host request against the sandbox's policy before the agent acts on it.
 *
 * <pre>{@code
 * PolicyEnforcer enforcer = PolicyEnforcer.load(policyText, options);   // once, at launch
 * Decision d = enforcer.decide(new EnforcementRequest.MountDevice(target, rootHash));
 * if (!d.allowed()) return error(d.reason());                          // the host sees why
 * try { mount(...); enforcer.commit(d); }                              // state moves on
 * catch (IOException e) { enforcer.rollback(d); throw e; }             // as if never asked
 * }</pre>
 *
 * Implementations are thread-safe; decisions are made against the committed state only.
 */
public sealed interface PolicyEnforcer permits RegoPolicyEnforcer, AllowAllEnforcer {

    /** Loads a policy (Rego text in ACI's schema) with Coffer's framework and default options. */
    static PolicyEnforcer load(String policyText) {
        return load(policyText, EnforcerOptions.defaults());
    }

    /**
     * Loads a policy with Coffer's framework.
     *
     * @throws PolicyLoadException if the policy does not compile or is not an ACI-schema policy
     */
    static PolicyEnforcer load(String policyText, EnforcerOptions options) {
        return RegoPolicyEnforcer.create(policyText, options);
    }

    /**
     * The development enforcer: allows every request and keeps no state. It reports itself as
     * debuggable so the group (and any attestation of it) says it ran without a policy.
     */
    static PolicyEnforcer allowAll() {
        return new AllowAllEnforcer(EnforcerOptions.defaults());
    }

    /** Evaluates the request; changes nothing until {@link #commit}. */
    Decision decide(EnforcementRequest request);

    /** The host operation for an allowed decision succeeded: apply its state change. */
    void commit(Decision decision);

    /** The host operation failed (or was not attempted): forget the decision's state change. */
    void rollback(Decision decision);

    /** A copy of the current state ({@code data.metadata}). */
    ObjectNode state();

    /** The decision log, oldest first (bounded by {@link EnforcerOptions#logCapacity()}). */
    List<DecisionLogEntry> decisionLog();

    /** SHA-256 of the exact policy text (the HOST_DATA the sandbox was launched with), or "" for allow-all. */
    String policySha256();

    /**
     * The launch settings the policy pins (its {@code launch} object; none when it has none), or
     * empty for allow-all, the development mode in which the host's launch arguments stand.
     */
    java.util.Optional<dev.coffer.policy.model.LaunchSettings> launchSettings();

    /**
     * The key channel's pins the policy states ({@code key_channel_pins}), evaluated from the same
     * text as every decision; none for allow-all or a policy without them.
     */
    List<dev.coffer.policy.spec.GroupSpec.EndpointPin> keyChannelPins();

    /** True for allow-all and for policies generated with {@code --debug-mode}: such a sandbox must not be trusted with secrets. */
    boolean debuggable();
}
