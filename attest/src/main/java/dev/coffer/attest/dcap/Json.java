package dev.coffer.attest.dcap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Strict field access over PCS JSON: a missing or mistyped field names itself in the error. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static JsonNode parse(String text, String what) {
        try {
            JsonNode n = MAPPER.readTree(text);
            if (n == null || !n.isObject()) throw new QuoteFormatException(what + ": expected a JSON object");
            return n;
        } catch (JsonProcessingException e) {
            throw new QuoteFormatException(what + " is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
    }

    static JsonNode field(JsonNode n, String name, String what) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) throw new QuoteFormatException(what + ": missing field '" + name + "'");
        return v;
    }

    static String text(JsonNode n, String name, String what) {
        JsonNode v = field(n, name, what);
        if (!v.isTextual()) throw new QuoteFormatException(what + ": field '" + name + "' must be a string, found " + v.getNodeType());
        return v.asText();
    }

    static int integer(JsonNode n, String name, String what) {
        JsonNode v = field(n, name, what);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new QuoteFormatException(what + ": field '" + name + "' must be an integer, found " + v);
        }
        return v.intValue();
    }

    static Instant instant(JsonNode n, String name, String what) {
        String s = text(n, name, what);
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw new QuoteFormatException(what + ": field '" + name + "' is not an ISO-8601 UTC time: '" + s + "'");
        }
    }

    static byte[] hex(JsonNode n, String name, String what) {
        String s = text(n, name, what);
        try {
            return HexFormat.of().parseHex(s.toLowerCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new QuoteFormatException(what + ": field '" + name + "' is not hex: '" + s + "'");
        }
    }

    static List<String> strings(JsonNode n, String name) {
        JsonNode v = n.get(name);
        List<String> out = new ArrayList<>();
        if (v != null && v.isArray()) v.forEach(e -> out.add(e.asText()));
        return List.copyOf(out);
    }

    static Iterable<JsonNode> array(JsonNode n, String name, String what) {
        JsonNode v = field(n, name, what);
        if (!v.isArray()) throw new QuoteFormatException(what + ": field '" + name + "' must be an array");
        return v;
    }

    /**
     * The exact text of the top-level member {@code name}'s object value in {@code json}: PCS signs
     * those bytes as served, so re-serializing parsed JSON would break the signature.
     */
    static String rawMember(String json, String name, String what) {
        String key = "\"" + name + "\"";
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (inString) {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') {
                if (depth == 1 && json.startsWith(key, i)) {
                    int j = i + key.length();
                    while (j < json.length() && Character.isWhitespace(json.charAt(j))) j++;
                    if (j < json.length() && json.charAt(j) == ':') {
                        j++;
                        while (j < json.length() && Character.isWhitespace(json.charAt(j))) j++;
                        return balanced(json, j, what + " member '" + name + "'");
                    }
                }
                inString = true;
            } else if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') depth--;
        }
        throw new QuoteFormatException(what + ": no top-level member '" + name + "'");
    }

    private static String balanced(String s, int start, String what) {
        if (start >= s.length() || s.charAt(start) != '{') throw new QuoteFormatException(what + " must be a JSON object");
        int depth = 0;
        boolean inString = false;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inString) {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
            } else if (c == '"') inString = true;
            else if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) return s.substring(start, i + 1);
        }
        throw new QuoteFormatException(what + " is not closed");
    }
}
