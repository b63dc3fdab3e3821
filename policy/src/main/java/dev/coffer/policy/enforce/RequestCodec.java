package dev.coffer.policy.enforce;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * Converts enforcement requests to and from JSON in Azure's input shape, e.g.
 * {@code {"rule": "mount_device", "input": {"target": "...", "deviceHash": "..."}}}.
 * Parsing is strict: unknown fields and missing fields are errors naming the field.
 */
public final class RequestCodec {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    /** Every rule name a request can carry, in DESIGN.md's order. */
    public static final List<String> RULES = List.of(
            "mount_device", "unmount_device", "mount_overlay", "unmount_overlay", "create_container",
            "exec_in_container", "exec_external", "signal_container_process", "shutdown_container",
            "get_properties", "dump_stacks", "runtime_logging", "load_fragment", "scratch_mount",
            "scratch_unmount", "set_policy");

    private RequestCodec() {}

    /** The request as the framework's {@code input} document (Azure's field names). */
    public static ObjectNode toInput(EnforcementRequest request) {
        return MAPPER.valueToTree(request);
    }

    /** {@code {"rule": ..., "input": {...}}}. */
    public static ObjectNode toJson(EnforcementRequest request) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("rule", request.rule());
        n.set("input", toInput(request));
        return n;
    }

    /** Parses {@code {"rule": ..., "input": {...}}}. */
    public static EnforcementRequest fromJson(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException("expected a request object {\"rule\": ..., \"input\": {...}}, found "
                    + (json == null ? "nothing" : json.getNodeType().toString().toLowerCase()));
        }
        JsonNode rule = json.get("rule");
        if (rule == null || !rule.isTextual()) {
            throw new IllegalArgumentException("request has no \"rule\" string; expected one of " + RULES);
        }
        JsonNode input = json.get("input");
        return fromJson(rule.asText(), input == null ? MAPPER.createObjectNode() : input);
    }

    /** Parses the input document of the given rule into its request record. */
    public static EnforcementRequest fromJson(String rule, JsonNode input) {
        Class<? extends EnforcementRequest> type = switch (rule) {
            case "mount_device" -> EnforcementRequest.MountDevice.class;
            case "unmount_device" -> EnforcementRequest.UnmountDevice.class;
            case "mount_overlay" -> EnforcementRequest.MountOverlay.class;
            case "unmount_overlay" -> EnforcementRequest.UnmountOverlay.class;
            case "create_container" -> EnforcementRequest.CreateContainer.class;
            case "exec_in_container" -> EnforcementRequest.ExecInContainer.class;
            case "exec_external" -> EnforcementRequest.ExecExternal.class;
            case "signal_container_process" -> EnforcementRequest.SignalContainerProcess.class;
            case "shutdown_container" -> EnforcementRequest.ShutdownContainer.class;
            case "get_properties" -> EnforcementRequest.GetProperties.class;
            case "dump_stacks" -> EnforcementRequest.DumpStacks.class;
            case "runtime_logging" -> EnforcementRequest.RuntimeLogging.class;
            case "load_fragment" -> EnforcementRequest.LoadFragment.class;
            case "scratch_mount" -> EnforcementRequest.ScratchMount.class;
            case "scratch_unmount" -> EnforcementRequest.ScratchUnmount.class;
            case "set_policy" -> EnforcementRequest.SetPolicy.class;
            default -> throw new IllegalArgumentException("unknown enforcement point '" + rule + "'; expected one of " + RULES);
        };
        if (input == null || !input.isObject()) {
            throw new IllegalArgumentException(rule + " input must be an object");
        }
        try {
            return MAPPER.treeToValue(input, type);
        } catch (ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("invalid " + rule + " input: " + cause.getMessage(), e);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("invalid " + rule + " input: " + e.getOriginalMessage(), e);
        }
    }
}
