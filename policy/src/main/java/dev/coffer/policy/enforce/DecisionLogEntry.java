package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
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

    /** Reads an entry written by {@link #toJson()} (one line of a persisted decision log). */
    public static DecisionLogEntry fromJson(JsonNode n) {
        if (n == null || !n.isObject() || !n.path("sequence").canConvertToLong() || !n.path("rule").isTextual()
                || !n.path("allowed").isBoolean() || !n.path("time").isTextual() || !n.path("input").isObject()) {
            throw new IllegalArgumentException("not a decision log entry: expected {sequence, time, rule, allowed, reason, "
                    + "outcome, input}, found " + (n == null ? "nothing" : abbreviate(n.toString())));
        }
        Instant time;
        try {
            time = Instant.parse(n.get("time").asText());
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException("decision log entry has an invalid time '" + n.get("time").asText() + "'");
        }
        return new DecisionLogEntry(n.get("sequence").asLong(), time, n.get("rule").asText(), n.get("allowed").asBoolean(),
                n.path("reason").asText(""), (ObjectNode) n.get("input"), n.path("outcome").asText(""));
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
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
