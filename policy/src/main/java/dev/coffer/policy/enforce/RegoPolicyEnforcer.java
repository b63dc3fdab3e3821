package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Enforces a Rego policy in ACI's schema with Coffer's framework.rego. */
final class RegoPolicyEnforcer implements PolicyEnforcer {
    static final String FRAMEWORK_RESOURCE = "framework.rego";
    private static final Value ALLOWED = new StringValue("allowed");
    private static final Value METADATA = new StringValue("metadata");
    private static final Value DENIED = Json.parse("{\"allowed\": false}");

    private final RuleEngine engine;
    private final EnforcerOptions options;
    private final String policySha256;
    private final boolean debugMode;
    private final Explainer explainer;
    private final dev.coffer.policy.model.LaunchSettings launch;
    private final List<dev.coffer.policy.spec.GroupSpec.EndpointPin> keyChannelPins;
    private final DecisionLog log;
    // allowed decisions awaiting commit/rollback; identity-checked so a decision from another enforcer is refused
    private final Map<Long, Decision> pending = new HashMap<>();
    private PolicyState state = PolicyState.initial();
    private long sequence;

    private RegoPolicyEnforcer(RuleEngine engine, String policyText, EnforcerOptions options) {
        this.engine = engine;
        this.options = options;
        this.policySha256 = GeneratedPolicy.sha256Hex(policyText);
        JsonNode containers = constant("data.policy.containers");
        if (containers != null && !containers.isArray()) {
            throw new PolicyLoadException("policy 'containers' must be an array: found " + containers.getNodeType()
                    + "; write containers := [ {...}, ... ]", null);
        }
        JsonNode debug = constant("data.policy.debug_mode");
        this.debugMode = debug != null && debug.asBoolean(false);
        try {
            this.launch = dev.coffer.policy.model.LaunchSettings.fromPolicyValue(
                    constant("data.policy." + dev.coffer.policy.model.LaunchSettings.POLICY_FIELD));
            this.keyChannelPins = dev.coffer.policy.gen.KeyChannelPins.fromPolicyValue(
                    constant("data.policy." + dev.coffer.policy.gen.KeyChannelPins.RULE));
        } catch (IllegalArgumentException e) {
            throw new PolicyLoadException(e.getMessage(), e);
        }
        this.explainer = new Explainer(containers, constant("data.policy.external_processes"), options,
                constant("data.framework.cri_default_mounts"), constant("data.framework.cri_privileged_mounts"));
        this.log = new DecisionLog(options.logCapacity(), options.logSink(), Clock.systemUTC());
    }

    /** A ref that depends on no input (the policy's own data), as JSON; null when undefined. */
    private JsonNode constant(String ref) {
        return json(engine.evaluate(ref, ObjectValue.EMPTY, state));
    }

    private static JsonNode json(Value v) {
        return v == null ? null : Json.toJsonNode(v);
    }

    static RegoPolicyEnforcer create(String policyText, EnforcerOptions options) {
        return new RegoPolicyEnforcer(RegoRuleEngine.compile(frameworkText(), policyText), policyText, options);
    }

    /** Coffer's framework.rego, as shipped in this module. */
    public static String frameworkText() {
        try (InputStream in = RegoPolicyEnforcer.class.getResourceAsStream(FRAMEWORK_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("framework.rego is missing from the coffer-policy jar; rebuild the policy module");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read framework.rego from the coffer-policy jar", e);
        }
    }

    @Override
    public synchronized Decision decide(EnforcementRequest request) {
        long seq = ++sequence;
        ObjectNode input = RequestCodec.toInput(request);
        Decision decision;
        if (request instanceof EnforcementRequest.SetPolicy set) {
            String offered = GeneratedPolicy.sha256Hex(set.policyText());
            decision = denied(seq, request.rule(), input, new Explanation(request.rule(),
                    List.of("the policy is fixed at launch and cannot be replaced"),
                    "policy sha256", policySha256 + " (HOST_DATA)", offered, null));
        } else if (!(request instanceof EnforcementRequest.SetPolicy) && RequestLimits.violation(input) instanceof String tooBig) {
            decision = denied(seq, request.rule(), input, new Explanation(request.rule(),
                    List.of("request exceeds the enforcer's size limits"), tooBig.substring(0, tooBig.indexOf(':')),
                    "at most " + RequestLimits.MAX_LIST + " entries per list and " + RequestLimits.MAX_STRING
                            + " characters per string", tooBig.substring(tooBig.indexOf(':') + 2), null));
        } else {
            decision = evaluate(seq, request.rule(), agentInput(request, input));
        }
        log.record(decision);
        if (decision.allowed()) {
            pending.put(seq, decision);
        }
        return decision;
    }

    /** Adds the fields only the agent may supply; the host's request records cannot carry them. */
    private ObjectNode agentInput(EnforcementRequest request, ObjectNode input) {
        input.put("rule", request.rule());
        switch (request) {
            case EnforcementRequest.MountDevice m -> input.put("mountPathRegex", options.layerMountPathRegex());
            case EnforcementRequest.CreateContainer c -> input.put("sandboxDir", options.sandboxDir())
                    .put("runtimeDefaultSeccompProfileSHA256", SeccompDefault.sha256());
            default -> { }
        }
        return input;
    }

    private Decision evaluate(long seq, String rule, ObjectNode input) {
        Value in;
        Value result;
        try {
            // converted once per decision: the rule, the framework's fallback and the reason all read it
            in = Json.fromJsonNode(input);
            result = engine.evaluate("data.policy." + rule, in, state);
        } catch (RuntimeException e) {
            // an evaluation error must never turn into an allow
            return denied(seq, rule, input, new Explanation(rule, List.of("policy evaluation failed: " + e.getMessage()),
                    null, null, null, null));
        }
        EnforcementPoint point = EnforcementPoint.named(rule);
        if (result == null && point != null && point.origin() == EnforcementPoint.Origin.COFFER) {
            // a policy that does not know one of Coffer's own points (an ACI policy, an older Coffer one)
            // gets the framework's rule for it, never a free pass
            try {
                result = engine.evaluate("data.framework." + rule, in, state);
            } catch (RuntimeException e) {
                return denied(seq, rule, input, new Explanation(rule, List.of("policy evaluation failed: " + e.getMessage()),
                        null, null, null, null));
            }
        }
        if (result == null) {
            return denied(seq, rule, input, new Explanation(rule,
                    List.of("the policy does not bind enforcement point " + rule + " (add `" + rule
                            + " := data.framework." + rule + "`)"), null, null, null, null));
        }
        if (result instanceof ObjectValue o && o.get(ALLOWED) instanceof BooleanValue allowed && allowed.value()) {
            // the metadata becomes the delta, whose values (whole candidate-container documents for
            // create_container) are converted to JSON only when read: at commit, or by the agent
            List<MetadataAction> delta = new ArrayList<>();
            Value metadata = o.get(METADATA);
            Iterable<Value> actions = switch (metadata) {
                case ArrayValue a -> a.items();
                case SetValue set -> set.items();
                case null, default -> List.of();
            };
            for (Value a : actions) delta.add(MetadataAction.fromValue(a));
            return new Decision(seq, rule, true, input, result, delta, null, state.version());
        }
        List<String> errors = new ArrayList<>();
        try {
            JsonNode reason = json(engine.evaluate("data.framework.reason", in, state));
            if (reason != null) reason.path("errors").forEach(e -> errors.add(e.asText()));
        } catch (RuntimeException e) {
            errors.add("(reason unavailable: " + e.getMessage() + ")");
        }
        return denied(seq, rule, input, explainer.explain(rule, errors, input, state.view()));
    }

    private Decision denied(long seq, String rule, ObjectNode input, Explanation explanation) {
        return new Decision(seq, rule, false, input, DENIED, List.of(), explanation, state.version());
    }

    @Override
    public synchronized void commit(Decision decision) {
        if (!decision.allowed()) {
            throw new IllegalStateException("decision " + decision.sequence() + " (" + decision.rule()
                    + ") was denied; there is nothing to commit");
        }
        if (pending.get(decision.sequence()) != decision) {
            throw new IllegalStateException("decision " + decision.sequence() + " (" + decision.rule()
                    + ") is not pending: it was already committed or rolled back, or made by another enforcer");
        }
        pending.remove(decision.sequence());
        if (decision.baseVersion() != state.version()) {
            // Another request committed while this one's host operation ran (the agent acts on
            // requests in parallel: two containers stop within one grace period). The operation
            // has happened, so the state must record it: judge the same input against the state
            // as it is now, as if the requests had arrived one after the other, and apply that
            // judgement's change. If the newer state forbids it the two requests conflicted.
            Decision rebased = evaluate(decision.sequence(), decision.rule(), decision.input());
            if (!rebased.allowed()) {
                log.outcome(decision.sequence(), "rolled-back");
                throw new IllegalStateException("decision " + decision.sequence() + " (" + decision.rule()
                        + ") conflicts with a request committed after it was made: against the current state it is denied ("
                        + rebased.reason() + ")");
            }
            state = state.apply(rebased.delta());
            log.outcome(decision.sequence(), "committed (re-judged against newer state)");
            return;
        }
        state = state.apply(decision.delta());
        log.outcome(decision.sequence(), "committed");
    }

    @Override
    public synchronized void rollback(Decision decision) {
        if (pending.get(decision.sequence()) == decision) {
            pending.remove(decision.sequence());
            log.outcome(decision.sequence(), "rolled-back");
        }
    }

    @Override
    public synchronized ObjectNode state() {
        return state.toJson();
    }

    @Override
    public synchronized List<DecisionLogEntry> decisionLog() {
        return log.snapshot();
    }

    @Override
    public String policySha256() {
        return policySha256;
    }

    @Override
    public java.util.Optional<dev.coffer.policy.model.LaunchSettings> launchSettings() {
        return java.util.Optional.of(launch);
    }

    @Override
    public List<dev.coffer.policy.spec.GroupSpec.EndpointPin> keyChannelPins() {
        return keyChannelPins;
    }

    @Override
    public boolean debuggable() {
        return debugMode;
    }
}
