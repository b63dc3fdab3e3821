package dev.coffer.policy.enforce;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
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

    /** Every rule name a request can carry: the enforcement points, in their declared order. */
    public static final List<String> RULES = EnforcementPoint.names();

    /** create_container fields the guest supplies, never the host: accepted in recorded inputs, never used. */
    static final List<String> AGENT_SUPPLIED_CREATE_FIELDS = List.of("sandboxDir", "hugePagesDir");

    private RequestCodec() {}

    /** The request as the framework's {@code input} document (Azure's field names). */
    public static ObjectNode toInput(EnforcementRequest request) {
        // built by hand: this is on every decision's path, and reflection-based binding costs more than the rest
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        switch (request) {
            case EnforcementRequest.MountDevice r -> n.put("target", r.target()).put("deviceHash", r.deviceHash());
            case EnforcementRequest.UnmountDevice r -> n.put("unmountTarget", r.unmountTarget());
            case EnforcementRequest.MountOverlay r -> {
                n.put("containerID", r.containerID());
                strings(n.putArray("layerPaths"), r.layerPaths());
                n.put("target", r.target());
            }
            case EnforcementRequest.UnmountOverlay r -> n.put("unmountTarget", r.unmountTarget());
            case EnforcementRequest.CreateContainer r -> {
                n.put("containerID", r.containerID());
                strings(n.putArray("argList"), r.argList());
                strings(n.putArray("envList"), r.envList());
                n.put("workingDir", r.workingDir());
                ArrayNode mounts = n.putArray("mounts");
                for (EnforcementRequest.Mount m : r.mounts()) {
                    ObjectNode mn = mounts.addObject().put("destination", m.destination()).put("source", m.source())
                            .put("type", m.type());
                    strings(mn.putArray("options"), m.options());
                    ArrayNode files = mn.putArray("files");
                    for (FileDigest f : m.files()) files.addObject().put("path", f.path()).put("sha256", f.sha256());
                }
                n.put("privileged", r.privileged());
                n.put("noNewPrivileges", r.noNewPrivileges());
                idName(n.putObject("user"), r.user());
                ArrayNode groups = n.putArray("groups");
                for (EnforcementRequest.IdName g : r.groups()) idName(groups.addObject(), g);
                n.put("umask", r.umask());
                capabilities(n.putObject("capabilities"), r.capabilities());
                n.put("seccompProfileSHA256", r.seccompProfileSHA256());
                strings(n.putArray("devices"), r.devices());
                n.put("hostname", r.hostname());
            }
            case EnforcementRequest.ExecInContainer r -> {
                n.put("containerID", r.containerID());
                strings(n.putArray("argList"), r.argList());
                strings(n.putArray("envList"), r.envList());
                n.put("workingDir", r.workingDir());
                // the process's own settings only when the request carries them (absent: inherited)
                if (r.noNewPrivileges() != null) n.put("noNewPrivileges", r.noNewPrivileges());
                if (r.user() != null) idName(n.putObject("user"), r.user());
                if (r.groups() != null) {
                    ArrayNode groups = n.putArray("groups");
                    for (EnforcementRequest.IdName g : r.groups()) idName(groups.addObject(), g);
                }
                if (r.umask() != null) n.put("umask", r.umask());
                if (r.capabilities() != null) capabilities(n.putObject("capabilities"), r.capabilities());
                // Coffer's, for a streamed exec only
                if (r.stdin() != null) n.put("stdin", r.stdin());
                if (r.terminal() != null) n.put("terminal", r.terminal());
            }
            case EnforcementRequest.ExecExternal r -> {
                strings(n.putArray("argList"), r.argList());
                strings(n.putArray("envList"), r.envList());
                n.put("workingDir", r.workingDir());
            }
            case EnforcementRequest.SignalContainerProcess r -> {
                n.put("containerID", r.containerID()).put("signal", r.signal()).put("isInitProcess", r.isInitProcess());
                strings(n.putArray("argList"), r.argList());
            }
            case EnforcementRequest.ShutdownContainer r -> n.put("containerID", r.containerID());
            case EnforcementRequest.GetProperties r -> { }
            case EnforcementRequest.DumpStacks r -> { }
            case EnforcementRequest.RuntimeLogging r -> { }
            case EnforcementRequest.LoadFragment r -> n.put("issuer", r.issuer()).put("feed", r.feed())
                    .put("namespace", r.namespace()).put("fragment_loaded", r.fragmentLoaded());
            case EnforcementRequest.ScratchMount r -> n.put("target", r.target()).put("encrypted", r.encrypted());
            case EnforcementRequest.ScratchUnmount r -> n.put("unmountTarget", r.unmountTarget());
            case EnforcementRequest.SetPolicy r -> n.put("policyText", r.policyText());
            case EnforcementRequest.MountEncryptedVolume r -> n.put("name", r.name()).put("source", r.source())
                    .put("key", r.key()).put("authority", r.authority()).put("vault", r.vault()).put("readOnly", r.readOnly())
                    .put("headerDigest", r.headerDigest()).put("integrity", r.integrity());
            case EnforcementRequest.FormatEncryptedVolume r -> n.put("integrity", r.integrity());
            case EnforcementRequest.StartContainer r -> n.put("containerID", r.containerID());
            case EnforcementRequest.WaitContainer r -> n.put("containerID", r.containerID());
            case EnforcementRequest.ReadLogs r -> n.put("containerID", r.containerID());
            case EnforcementRequest.WriteExecStdin r -> n.put("containerID", r.containerID());
            case EnforcementRequest.ReadExecOutput r -> n.put("containerID", r.containerID());
            case EnforcementRequest.ReadDecisionLog r -> { }
            case EnforcementRequest.GetReport r -> { }
            case EnforcementRequest.ShutdownSandbox r -> { }
        }
        return n;
    }

    private static void strings(ArrayNode array, List<String> values) {
        for (String v : values) array.add(v);
    }

    private static void capabilities(ObjectNode caps, EnforcementRequest.Capabilities c) {
        strings(caps.putArray("bounding"), c.bounding());
        strings(caps.putArray("effective"), c.effective());
        strings(caps.putArray("inheritable"), c.inheritable());
        strings(caps.putArray("permitted"), c.permitted());
        strings(caps.putArray("ambient"), c.ambient());
    }

    private static void idName(ObjectNode n, EnforcementRequest.IdName idName) {
        n.put("id", idName.id()).put("name", idName.name());
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
        EnforcementPoint point = EnforcementPoint.named(rule);
        if (point == null) {
            throw new IllegalArgumentException("unknown enforcement point '" + rule + "'; expected one of " + RULES);
        }
        Class<? extends EnforcementRequest> type = point.requestType();
        if (input == null || !input.isObject()) {
            throw new IllegalArgumentException(rule + " input must be an object");
        }
        ObjectNode fields = ((ObjectNode) input).deepCopy();
        // Azure's recorded inputs name their point (unless the point has a field of that name);
        // a different name is a request for another point
        boolean hasNameField = java.util.Arrays.stream(type.getRecordComponents()).anyMatch(c -> c.getName().equals("name"));
        JsonNode name = hasNameField ? null : fields.remove("name");
        if (name != null && !name.asText().equals(rule)) {
            throw new IllegalArgumentException("invalid " + rule + " input: field 'name' is \"" + name.asText()
                    + "\", expected \"" + rule + "\" (or no 'name')");
        }
        if (type == EnforcementRequest.CreateContainer.class) {
            // Azure's guest fills these in itself, as Coffer's agent does: a recorded value is
            // accepted and replaced by the enforcer's own (simulate: --sandbox-dir)
            fields.remove(AGENT_SUPPLIED_CREATE_FIELDS);
        }
        try {
            return MAPPER.treeToValue(fields, type);
        } catch (ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("invalid " + rule + " input: " + cause.getMessage(), e);
        } catch (JsonMappingException e) {
            throw new IllegalArgumentException("invalid " + rule + " input: " + describe(e), e);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("invalid " + rule + " input: " + e.getOriginalMessage(), e);
        }
    }

    /** Names the field and drops Jackson's advice about its own settings, which means nothing to a user. */
    private static String describe(JsonMappingException e) {
        StringBuilder field = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (!field.isEmpty()) field.append('.');
                field.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                field.append('[').append(r.getIndex()).append(']');
            }
        }
        String detail = e.getOriginalMessage();
        int cut = detail.indexOf(" (set DeserializationConfig");
        if (cut >= 0) detail = detail.substring(0, cut);
        if (detail.startsWith("Cannot map `null` into type")) {
            return "missing field '" + field + "' (" + detail.substring("Cannot map `null` into type ".length()).replace("`", "") + ")";
        }
        return field.isEmpty() ? detail : "field '" + field + "': " + detail;
    }
}
