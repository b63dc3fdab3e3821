package dev.coffer.policy.simulate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.coffer.policy.enforce.Decision;
import dev.coffer.policy.enforce.EnforcementRequest;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.enforce.RequestCodec;

import java.util.ArrayList;
import java.util.List;

/**
 * Replays a sequence of host requests against a policy offline, exactly as the agent would:
 * decide, then commit if the (simulated) host operation succeeds or roll back if it fails.
 *
 * <p>Commands file: a JSON array (or {@code {"steps": [...]}}) of
 * {@code {"rule": "mount_device", "input": {...}, "hostResult": "ok"|"fail"}};
 * {@code hostResult} defaults to "ok" and lets a sequence exercise rollback.
 */
public final class PolicySimulator {
    private PolicySimulator() {}

    record Command(EnforcementRequest request, boolean hostSucceeds) {}

    public static List<SimulationStep> run(String policyText, JsonNode commands, EnforcerOptions options) {
        List<Command> parsed = parse(commands);
        PolicyEnforcer enforcer = PolicyEnforcer.load(policyText, options);
        List<SimulationStep> steps = new ArrayList<>();
        for (int i = 0; i < parsed.size(); i++) {
            Command c = parsed.get(i);
            Decision d = enforcer.decide(c.request());
            String outcome;
            if (!d.allowed()) {
                outcome = "denied";
            } else if (c.hostSucceeds()) {
                enforcer.commit(d);
                outcome = "committed";
            } else {
                enforcer.rollback(d);
                outcome = "rolled-back";
            }
            steps.add(new SimulationStep(i + 1, d, outcome, enforcer.state()));
        }
        return steps;
    }

    /** Parses every step before any runs, so a malformed file replays nothing. */
    static List<Command> parse(JsonNode commands) {
        JsonNode steps = commands != null && commands.isObject() ? commands.get("steps") : commands;
        if (!(steps instanceof ArrayNode array)) {
            throw new IllegalArgumentException("commands must be a JSON array of {\"rule\", \"input\"[, \"hostResult\"]} "
                    + "(or {\"steps\": [...]}); found " + (commands == null ? "nothing" : commands.getNodeType().toString().toLowerCase()));
        }
        List<Command> out = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            JsonNode step = array.get(i);
            try {
                EnforcementRequest request = RequestCodec.fromJson(step);
                JsonNode host = step.get("hostResult");
                String hostResult = host == null ? "ok" : host.asText();
                if (!hostResult.equals("ok") && !hostResult.equals("fail")) {
                    throw new IllegalArgumentException("hostResult must be \"ok\" or \"fail\": found " + host);
                }
                out.add(new Command(request, hostResult.equals("ok")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("step " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }
}
