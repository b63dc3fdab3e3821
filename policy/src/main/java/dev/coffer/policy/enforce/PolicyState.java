package dev.coffer.policy.enforce;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * An immutable snapshot of {@code data.metadata}: what has been mounted and started so far.
 * Applying a decision's actions gives a new snapshot with the next version; the old one is
 * untouched, which is what makes "discard on host failure" free.
 */
public final class PolicyState {
    private final ObjectNode metadata;
    private final long version;

    private PolicyState(ObjectNode metadata, long version) {
        this.metadata = metadata;
        this.version = version;
    }

    public static PolicyState initial() {
        ObjectNode m = JsonNodeFactory.instance.objectNode();
        for (String name : List.of("devices", "overlayTargets", "overlayLayers", "matches", "started", "running", "scratch_mounts", "encrypted_volumes")) {
            m.putObject(name);
        }
        return new PolicyState(m, 0);
    }

    public long version() {
        return version;
    }

    /** A copy of the metadata document, safe to keep or print. */
    public ObjectNode toJson() {
        return metadata.deepCopy();
    }

    /** The metadata document itself, for read-only use inside this package. */
    ObjectNode view() {
        return metadata;
    }

    /** Applies actions atomically: either all apply, or an exception is thrown and nothing changes. */
    public PolicyState apply(List<MetadataAction> actions) {
        ObjectNode next = metadata.deepCopy();
        for (MetadataAction a : actions) {
            JsonNode existing = next.get(a.name());
            ObjectNode table = existing instanceof ObjectNode o ? o : next.putObject(a.name());
            switch (a.action()) {
                case "add" -> {
                    if (table.has(a.key())) {
                        throw new IllegalStateException("cannot add metadata " + a.name() + "[" + a.key()
                                + "]: the key already exists");
                    }
                    table.set(a.key(), a.value() == null ? JsonNodeFactory.instance.nullNode() : a.value());
                }
                case "update" -> table.set(a.key(), a.value() == null ? JsonNodeFactory.instance.nullNode() : a.value());
                case "remove" -> {
                    if (!table.has(a.key())) {
                        throw new IllegalStateException("cannot remove metadata " + a.name() + "[" + a.key()
                                + "]: no such key");
                    }
                    table.remove(a.key());
                }
                default -> throw new IllegalStateException("unknown metadata action " + a.action());
            }
        }
        return new PolicyState(next, version + 1);
    }
}
