package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** A bounded in-memory log of decisions, newest last; callers hold the enforcer's lock. */
final class DecisionLog {
    private final LinkedHashMap<Long, DecisionLogEntry> entries;
    private final Consumer<DecisionLogEntry> sink;
    private final Clock clock;

    DecisionLog(int capacity, Consumer<DecisionLogEntry> sink, Clock clock) {
        // insertion-ordered; replacing an entry's outcome keeps its place; the oldest goes first
        this.entries = new LinkedHashMap<>(Math.min(capacity, 1024) * 2, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, DecisionLogEntry> eldest) {
                return size() > capacity;
            }
        };
        this.sink = sink;
        this.clock = clock;
    }

    void record(Decision d) {
        DecisionLogEntry e = new DecisionLogEntry(d.sequence(), clock.instant(), d.rule(), d.allowed(), d.reason(),
                redact(d.input()), d.allowed() ? "pending" : "denied");
        entries.put(e.sequence(), e);
        publish(e);
    }

    void outcome(long sequence, String outcome) {
        DecisionLogEntry e = entries.get(sequence);
        if (e != null) {
            DecisionLogEntry updated = e.withOutcome(outcome);
            entries.put(sequence, updated);
            publish(updated);
        }
    }

    List<DecisionLogEntry> snapshot() {
        return List.copyOf(entries.values());
    }

    private void publish(DecisionLogEntry e) {
        if (sink != null) sink.accept(e);
    }

    /**
     * The input as logged: environment values and a replacement policy's text hidden. Only the
     * fields that are redacted are new nodes; the rest is shared with the decision's input, which
     * nothing mutates once decided, so a create_container's mounts and capabilities are not copied.
     */
    static ObjectNode redact(ObjectNode input) {
        JsonNode env = input.get("envList");
        JsonNode policyText = input.get("policyText");
        if (!(env instanceof ArrayNode) && policyText == null) {
            return input;
        }
        ObjectNode copy = input.objectNode();
        copy.setAll(input);
        if (env instanceof ArrayNode arr) {
            ArrayNode redacted = copy.putArray("envList");
            for (JsonNode e : arr) {
                String kv = e.asText();
                int eq = kv.indexOf('=');
                redacted.add((eq < 0 ? kv : kv.substring(0, eq)) + "=<redacted>");
            }
        }
        if (policyText != null) {
            copy.put("policyText", "<" + policyText.asText().length() + " characters>");
        }
        return copy;
    }
}
