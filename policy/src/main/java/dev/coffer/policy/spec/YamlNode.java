package dev.coffer.policy.spec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as a tree that remembers where every node came from, so validation errors can
 * name a line and column. (Jackson's own JsonNode tree drops locations.)
 */
sealed interface YamlNode {
    int line();

    int column();

    String kind();

    record Mapping(Map<String, Entry> entries, int line, int column) implements YamlNode {
        public String kind() {
            return "a mapping";
        }
    }

    /** A key with its own position and its value. */
    record Entry(int line, int column, YamlNode value) {}

    record Sequence(List<YamlNode> items, int line, int column) implements YamlNode {
        public String kind() {
            return "a list";
        }
    }

    /** token tells strings (VALUE_STRING) from numbers, booleans and null. */
    record Scalar(String text, JsonToken token, int line, int column) implements YamlNode {
        public String kind() {
            return switch (token) {
                case VALUE_NULL -> "nothing (null)";
                case VALUE_TRUE, VALUE_FALSE -> "the boolean " + text;
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "the number " + text;
                default -> "the string \"" + text + "\"";
            };
        }
    }

    /** Reads the single document at the parser's position; duplicate keys are an error. */
    static YamlNode read(JsonParser p, String file) throws IOException, SpecException {
        JsonToken t = p.currentToken();
        JsonLocation loc = p.currentTokenLocation();
        int line = loc.getLineNr();
        int col = loc.getColumnNr();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Entry> entries = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    JsonLocation keyLoc = p.currentTokenLocation();
                    if (entries.containsKey(key)) {
                        throw new SpecException(file, keyLoc.getLineNr(), keyLoc.getColumnNr(), key,
                                "expected each key once per mapping, found it again (first on line " + entries.get(key).line() + ")");
                    }
                    p.nextToken();
                    entries.put(key, new Entry(keyLoc.getLineNr(), keyLoc.getColumnNr(), read(p, file)));
                }
                return new Mapping(entries, line, col);
            }
            case START_ARRAY -> {
                List<YamlNode> items = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    items.add(read(p, file));
                }
                return new Sequence(items, line, col);
            }
            case VALUE_STRING, VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_TRUE, VALUE_FALSE, VALUE_NULL ->
            {
                return new Scalar(p.getText(), t, line, col);
            }
            default -> throw new SpecException(file, line, col, "", "expected YAML mappings, lists and scalars, found " + t);
        }
    }
}
