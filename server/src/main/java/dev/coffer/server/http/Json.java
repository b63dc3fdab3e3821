package dev.coffer.server.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/** The one JSON mapper of the server: strict on input (duplicate keys are an error), stable on output. */
public final class Json {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    private Json() {}

    /** Parses a request body; anything that is not one JSON object is a {@code malformed_request}. */
    public static ObjectNode parseObject(byte[] body, String what) {
        if (body == null || body.length == 0) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": expected a JSON object body, found an empty body");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (IOException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": body is not valid JSON ("
                    + oneLine(e) + "); send a JSON object");
        }
        if (!(node instanceof ObjectNode object)) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": expected a JSON object, found "
                    + (node == null ? "nothing" : node.getNodeType().name().toLowerCase()));
        }
        return object;
    }

    public static JsonNode parse(String text) throws IOException {
        return MAPPER.readTree(text);
    }

    public static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }

    public static String string(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }

    /** A required string field of a request object. */
    public static String requiredText(ObjectNode object, String field, String what) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": missing required field '" + field + "'");
        }
        if (!value.isTextual()) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": field '" + field + "' must be a string, found "
                    + value.getNodeType().name().toLowerCase());
        }
        return value.textValue();
    }

    public static String optionalText(ObjectNode object, String field, String what) {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) return null;
        if (!value.isTextual()) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": field '" + field + "' must be a string, found "
                    + value.getNodeType().name().toLowerCase());
        }
        return value.textValue();
    }

    static String oneLine(Exception e) {
        String m = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
        if (m == null) m = e.getClass().getSimpleName();
        m = m.replaceAll("\\s+", " ");
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }
}
