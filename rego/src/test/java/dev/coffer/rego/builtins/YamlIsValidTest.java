package dev.coffer.rego.builtins;

import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** yaml.is_valid judges the whole stream, as OPA does: a bad later document makes the text invalid. */
class YamlIsValidTest {
    private static Value isValid(Value text) {
        return Builtins.get("yaml.is_valid").fn().apply(null, new Value[]{text});
    }

    private static Value isValid(String text) {
        return isValid(Value.of(text));
    }

    @Test
    void acceptsOneOrSeveralWellFormedDocuments() {
        assertEquals(Value.of(true), isValid("name: web\nports:\n  - 80\n  - 443\n"));
        assertEquals(Value.of(true), isValid("{\"json\": \"is yaml\"}"));
        assertEquals(Value.of(true), isValid("kind: a\n---\nkind: b\n"), "a stream of two good documents");
        assertEquals(Value.of(true), isValid(""), "an empty stream");
    }

    @Test
    void rejectsAMalformedDocumentAfterAGoodOne() {
        assertEquals(Value.of(false), isValid("kind: a\n---\n\tkind: b\n"), "a tab indents the second document");
        assertEquals(Value.of(false), isValid("kind: a\n---\nkind: [b\n"), "an unclosed flow sequence in the second document");
    }

    @Test
    void rejectsContentAfterTheFirstMappingEnds() {
        assertEquals(Value.of(false), isValid("  first:\nsecond: value\n"), "a key less indented than the mapping it follows");
    }

    @Test
    void rejectsMalformedTextAndNonStrings() {
        assertEquals(Value.of(false), isValid("a: [1, 2"));
        assertEquals(Value.of(false), isValid(Value.of(1)), "a number is not YAML text");
    }
}
