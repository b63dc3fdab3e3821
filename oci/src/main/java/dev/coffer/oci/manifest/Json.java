package dev.coffer.oci.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON helpers shared by the image formats; one mapper, compact, insertion-ordered output. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    public static JsonNode read(byte[] json, String what) throws OciException {
        try {
            JsonNode node = MAPPER.readTree(json);
            if (node == null || !node.isObject()) {
                throw new OciException(what + " is not a JSON object; expected an OCI JSON document");
            }
            return node;
        } catch (IOException e) {
            if (e instanceof OciException oe) throw oe;
            String detail = e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe
                    ? jpe.getOriginalMessage() : e.getMessage();
            throw new OciException(what + " is not valid JSON (" + detail + ")"
                    + "; expected an OCI JSON document", e);
        }
    }

    public static byte[] write(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise JSON", e);
        }
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    static List<String> strings(JsonNode node) {
        List<String> out = new ArrayList<>();
        if (node != null && node.isArray()) {
            node.forEach(n -> out.add(n.asText()));
        }
        return out;
    }

    static Map<String, String> stringMap(JsonNode node) {
        Map<String, String> out = new LinkedHashMap<>();
        if (node != null && node.isObject()) {
            node.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        }
        return out;
    }

    static ArrayNode array(List<String> values) {
        ArrayNode a = MAPPER.createArrayNode();
        values.forEach(a::add);
        return a;
    }

    static Descriptor descriptor(JsonNode node, String what) throws OciException {
        if (node == null || !node.isObject()) {
            throw new OciException(what + " is missing a descriptor object; the document is malformed");
        }
        String mediaType = text(node, "mediaType");
        String digest = text(node, "digest");
        JsonNode size = node.get("size");
        if (digest == null || size == null || !size.canConvertToLong() || size.asLong() < 0) {
            throw new OciException(what + " has a descriptor without a valid digest and size; the document is malformed");
        }
        Digest d;
        try {
            d = Digest.parse(digest);
        } catch (IllegalArgumentException e) {
            throw new OciException(what + ": " + e.getMessage(), e);
        }
        Platform platform = null;
        JsonNode p = node.get("platform");
        if (p != null && p.isObject()) {
            platform = new Platform(text(p, "os"), text(p, "architecture"), text(p, "variant"), text(p, "os.version"));
        }
        return new Descriptor(mediaType == null ? "" : mediaType, d, size.asLong(), platform,
                stringMap(node.get("annotations")));
    }

    static ObjectNode descriptorJson(Descriptor d) {
        ObjectNode n = object();
        n.put("mediaType", d.mediaType());
        n.put("digest", d.digest().toString());
        n.put("size", d.size());
        if (d.platform() != null) {
            ObjectNode p = n.putObject("platform");
            p.put("architecture", d.platform().architecture());
            p.put("os", d.platform().os());
            if (!d.platform().variant().isEmpty()) p.put("variant", d.platform().variant());
            if (!d.platform().osVersion().isEmpty()) p.put("os.version", d.platform().osVersion());
        }
        if (!d.annotations().isEmpty()) {
            ObjectNode a = n.putObject("annotations");
            d.annotations().entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> a.put(e.getKey(), e.getValue()));
        }
        return n;
    }
}
