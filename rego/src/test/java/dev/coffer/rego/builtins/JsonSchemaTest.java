package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** json.match_schema / json.verify_schema beyond the conformance cases: gojsonschema's error objects. */
class JsonSchemaTest {
    private static ArrayValue match(String doc, String schema) {
        return (ArrayValue) Builtins.get("json.match_schema").fn().apply(null, new Value[]{Json.parse(doc), Value.of(schema)});
    }

    private static String errorTexts(ArrayValue result) {
        StringBuilder sb = new StringBuilder();
        for (Value e : ((ArrayValue) result.get(1)).items()) sb.append(Json.parse(e.toJson()).toJson()).append('\n');
        return sb.toString();
    }

    @Test
    void reportsEachViolationWithFieldAndType() {
        String schema = """
                {"definitions": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
                 "type": "object", "required": ["name", "port"], "additionalProperties": false,
                 "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}, "port": {"$ref": "#/definitions/port"},
                                "mode": {"enum": ["ro", "rw"]}, "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}}
                """;
        ArrayValue ok = match("{\"name\": \"web\", \"port\": 443, \"mode\": \"ro\", \"tags\": [\"a\", \"b\"]}", schema);
        assertEquals(Value.of(true), ok.get(0), errorTexts(ok));
        ArrayValue bad = match("{\"name\": \"Web\", \"port\": 70000, \"mode\": \"x\", \"tags\": [\"a\", \"a\", 3], \"extra\": 1}", schema);
        assertEquals(Value.of(false), bad.get(0));
        String errors = errorTexts(bad);
        assertTrue(errors.contains("\"error\":\"name: Does not match pattern '^[a-z]+$'\""), errors);
        assertTrue(errors.contains("\"error\":\"port: Must be less than or equal to 65535\""), errors);
        assertTrue(errors.contains("\"type\":\"enum\""), errors);
        assertTrue(errors.contains("\"error\":\"tags.2: Invalid type. Expected: string, given: integer\""), errors);
        assertTrue(errors.contains("\"type\":\"unique\""), errors);
        assertTrue(errors.contains("\"error\":\"(root): Additional property extra is not allowed\""), errors);
        ArrayValue missing = match("{}", schema);
        assertTrue(errorTexts(missing).contains("\"error\":\"(root): name is required\""), errorTexts(missing));
    }

    @Test
    void invalidSchemasAreRejected() {
        Value r = Builtins.get("json.verify_schema").fn().apply(null, new Value[]{Value.of("{\"type\": \"text\"}")});
        assertEquals(Value.of(false), ((ArrayValue) r).get(0));
        assertThrows(BuiltinException.class, () -> match("{}", "{\"type\": \"text\"}"));
        assertThrows(BuiltinException.class, () -> match("{}", "{not json"));
        assertThrows(BuiltinException.class, () -> match("{}", "{\"$ref\": \"http://example.com/schema\"}"));
    }
}
