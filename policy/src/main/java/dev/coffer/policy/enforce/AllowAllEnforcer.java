package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.rego.value.Json;

import java.time.Clock;
import java.util.List;

/** Development only ({@code --policy allow-all}): allows everything and says so in every decision. */
final class AllowAllEnforcer implements PolicyEnforcer {
    private final DecisionLog log;
    private long sequence;

    AllowAllEnforcer(EnforcerOptions options) {
        this.log = new DecisionLog(options.logCapacity(), options.logSink(), Clock.systemUTC());
    }

    @Override
    public synchronized Decision decide(EnforcementRequest request) {
        ObjectNode input = RequestCodec.toInput(request);
        ObjectNode result = JsonNodeFactory.instance.objectNode()
                .put("allowed", true)
                .put("allow_stdio_access", true)
                .put("policy", "allow-all");
        if (input.has("envList")) {
            result.set("env_list", input.get("envList"));
        }
        Decision d = new Decision(++sequence, request.rule(), true, input, Json.fromJsonNode(result), List.of(), null, 0);
        log.record(d);
        return d;
    }

    @Override
    public synchronized void commit(Decision decision) {
        log.outcome(decision.sequence(), "committed");
    }

    @Override
    public synchronized void rollback(Decision decision) {
        log.outcome(decision.sequence(), "rolled-back");
    }

    @Override
    public ObjectNode state() {
        return JsonNodeFactory.instance.objectNode().put("policy", "allow-all");
    }

    @Override
    public synchronized List<DecisionLogEntry> decisionLog() {
        return log.snapshot();
    }

    @Override
    public String policySha256() {
        return "";
    }

    @Override
    public List<dev.coffer.policy.spec.GroupSpec.EndpointPin> keyChannelPins() {
        return List.of();
    }

    @Override
    public java.util.Optional<dev.coffer.policy.model.LaunchSettings> launchSettings() {
        return java.util.Optional.empty();
    }

    @Override
    public boolean debuggable() {
        return true;
    }
}
