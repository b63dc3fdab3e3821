package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;

/**
 * One line of the decision log ({@code coffer logs --policy}). Environment values in the
 * logged input are redacted ("NAME=<redacted>"): a log outlives the request and may be read
 * by parties that should not see a container's configuration secrets.
 *
 * @param outcome "denied", "pending" (allowed, host op not yet done), "committed" or "rolled-back"
 */
public record DecisionLogEntry(long sequence, Instant time, String rule, boolean allowed, String reason,
                               ObjectNode input, String outcome) {
    DecisionLogEntry withOutcome(String newOutcome) {
        return new DecisionLogEntry(sequence, time, rule, allowed, reason, input, newOutcome);
    }

    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("sequence", sequence);
        n.put("time", time.toString());
        n.put("rule", rule);
        n.put("allowed", allowed);
        n.put("reason", reason);
        n.put("outcome", outcome);
        n.set("input", input);
        return n;
    }
}
