package dev.coffer.agent.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.NamedType;

import java.util.List;

/** Encoding of requests and responses as JSON frame bodies, and the version check. */
public final class Protocol {
    /** Bumped on any incompatible change; the agent refuses other versions with a precise error. */
    public static final int VERSION = 1;

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            // request names come from the enforcement points, declared once (Request.wireNames)
            .registerSubtypes(Request.wireNames().entrySet().stream()
                    .map(e -> new NamedType(e.getKey(), e.getValue())).toArray(NamedType[]::new))
            .build();

    private Protocol() {}

    /**
     * Builds and caches the codecs of the requests and results of a group's start now, so those
     * first frames are decoded rather than introspected: the agent calls this on a thread of its
     * own while its TEE check runs, where it has a spare CPU (with one, the work would only
     * compete with the check). Safe to call any time; the mapper's caches are thread-safe.
     */
    public static void warmUp() {
        MAPPER.readerFor(RequestEnvelope.class);
        MAPPER.writerFor(Response.class);
        for (Class<?> type : List.of(Request.GetProperties.class, Request.MountDevice.class, Request.MountOverlay.class,
                Request.CreateContainer.class, Request.StartContainer.class)) {
            MAPPER.readerFor(type);
        }
        for (Class<?> type : List.of(Result.Properties.class, Result.ContainerStatus.class)) MAPPER.writerFor(type);
        try {
            // the tree path decodeRequest takes, end to end, with a request every agent answers
            decodeRequest(encode(new RequestEnvelope(VERSION, 1, new Request.Ping())));
            encode(new Response(VERSION, 1, new Result.Done(), null));
        } catch (ProtocolException e) {
            throw new IllegalStateException("the agent cannot decode its own ping: " + e.getMessage(), e);
        }
    }

    public static byte[] encode(RequestEnvelope envelope) {
        return bytes(envelope);
    }

    public static byte[] encode(Response response) {
        return bytes(response);
    }

    public static Response decodeResponse(byte[] body) throws ProtocolException {
        try {
            return MAPPER.readValue(body, Response.class);
        } catch (java.io.IOException e) {
            throw new ProtocolException(Response.Failure.BAD_JSON, 0,
                    "expected a JSON response from the agent, found unreadable bytes (" + firstLine(e) + ")");
        }
    }

    /** Decodes a request frame; every failure names what was wrong and carries the id when readable. */
    public static RequestEnvelope decodeRequest(byte[] body) throws ProtocolException {
        JsonNode tree;
        try {
            tree = MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw new ProtocolException(Response.Failure.BAD_JSON, 0,
                    "expected a JSON object, found malformed JSON (" + firstLine(e) + "); send UTF-8 JSON");
        }
        if (tree == null || !tree.isObject()) {
            throw new ProtocolException(Response.Failure.BAD_JSON, 0,
                    "expected a JSON object {version, id, request}, found " + (tree == null ? "nothing" : tree.getNodeType()));
        }
        long id = tree.path("id").isIntegralNumber() ? tree.get("id").asLong() : 0;
        JsonNode version = tree.get("version");
        if (version == null || !version.isInt()) {
            throw new ProtocolException(Response.Failure.UNSUPPORTED_VERSION, id,
                    "expected an integer protocol \"version\", found " + (version == null ? "none" : version.toString())
                            + "; this agent speaks version " + VERSION);
        }
        if (version.asInt() != VERSION) {
            throw new ProtocolException(Response.Failure.UNSUPPORTED_VERSION, id,
                    "expected protocol version " + VERSION + ", found " + version.asInt()
                            + "; use a host runtime and agent from the same Coffer release");
        }
        if (!tree.path("id").isIntegralNumber()) {
            throw new ProtocolException(Response.Failure.INVALID_REQUEST, 0, "expected an integer request \"id\", found "
                    + (tree.has("id") ? tree.get("id").toString() : "none"));
        }
        JsonNode request = tree.get("request");
        if (request == null || !request.isObject() || !request.path("type").isTextual()) {
            throw new ProtocolException(Response.Failure.INVALID_REQUEST, id,
                    "expected \"request\": {\"type\": <enforcement point>, ...}, found "
                            + (request == null ? "none" : request.toString().length() > 80 ? "an object without a type" : request.toString()));
        }
        try {
            return MAPPER.treeToValue(tree, RequestEnvelope.class);
        } catch (JsonProcessingException e) {
            throw new ProtocolException(Response.Failure.INVALID_REQUEST, id,
                    "expected a well-formed \"" + request.get("type").asText() + "\" request, found: " + firstLine(e));
        }
    }

    private static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + value.getClass().getSimpleName(), e);
        }
    }

    private static String firstLine(Exception e) {
        String m = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
        if (m == null) return e.getClass().getSimpleName();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
