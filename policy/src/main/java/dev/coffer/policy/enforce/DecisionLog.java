package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

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

    static ObjectNode redact(ObjectNode input) {
        ObjectNode copy = input.deepCopy();
        JsonNode env = copy.get("envList");
        if (env instanceof ArrayNode arr) {
            for (int i = 0; i < arr.size(); i++) {
                String kv = arr.get(i).asText();
                int eq = kv.indexOf('=');
                arr.set(i, TextNode.valueOf((eq < 0 ? kv : kv.substring(0, eq)) + "=<redacted>"));
            }
        }
        if (copy.has("policyText")) {
            copy.put("policyText", "<" + copy.get("policyText").asText().length() + " characters>");
        }
        return copy;
    }
}
