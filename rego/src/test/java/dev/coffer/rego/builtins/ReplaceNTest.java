package dev.coffer.rego.builtins;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** strings.replace_n follows Go's strings.NewReplacer over the sorted keys, the empty key included. */
class ReplaceNTest {
    private static String replaceN(String patterns, String text) {
        Value out = Builtins.get("strings.replace_n").fn().apply(null, new Value[]{Json.parse(patterns), Value.of(text)});
        return out.toJson();
    }

    @Test
    void replacesEachOccurrenceOnceWithoutRescanningTheOutput() {
        assertEquals("\"x=1, y=2\"", replaceN("{\"$x\": \"1\", \"$y\": \"2\"}", "x=$x, y=$y"));
        assertEquals("\"ba\"", replaceN("{\"a\": \"b\", \"b\": \"a\"}", "ab"), "a swap, not a chain");
        assertEquals("\"unchanged\"", replaceN("{\"zz\": \"y\"}", "unchanged"));
    }

    @Test
    void anEmptyKeyInsertsItsValueAtEveryPositionIncludingBothEnds() {
        assertEquals("\"|\"", replaceN("{\"\": \"|\"}", ""), "the empty text still has one position");
        assertEquals("\"|o|k|\"", replaceN("{\"\": \"|\"}", "ok"));
        assertEquals("\"|0|k|\"", replaceN("{\"\": \"|\", \"o\": \"0\"}", "ok"), "after the insertion the other keys still apply there");
    }

    @Test
    void anEmptyKeyNeverSplitsACharacter() {
        assertEquals("\"|ü|→|\"", replaceN("{\"\": \"|\"}", "ü→"));
        assertEquals("\"|u|\"", replaceN("{\"\": \"|\", \"ü\": \"u\"}", "ü"));
    }
}
