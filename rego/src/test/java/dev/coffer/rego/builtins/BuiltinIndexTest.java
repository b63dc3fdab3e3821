package dev.coffer.rego.builtins;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The lazy-loading index must name exactly what the families register, or built-ins go missing. */
class BuiltinIndexTest {
    @Test
    void indexMatchesRegistrations() {
        Map<String, String> actual = new TreeMap<>();
        StringBuilder table = new StringBuilder();
        for (String f : Builtins.FAMILIES) {
            TreeSet<String> names = new TreeSet<>(Builtins.family(f).keySet());
            for (String n : names) {
                String prev = actual.put(n, f);
                assertNull(prev, n + " is registered by both " + prev + " and " + f);
            }
            table.append(f).append(": ").append(String.join(" ", names)).append('\n');
        }
        assertEquals(actual, new TreeMap<>(BuiltinIndex.FAMILY_OF),
                "BuiltinIndex.TABLE is stale; replace it with (wrapped lines indented):\n" + table);
    }

    @Test
    void lookupLoadsTheFamilyAndUnknownNamesAreNull() {
        Builtin count = Builtins.get("count");
        assertNotNull(count);
        assertEquals(1, count.arity());
        assertNotNull(Builtins.get("io.jwt.decode"));
        assertNull(Builtins.get("no.such.builtin"));
        assertThrows(IllegalArgumentException.class, () -> Builtins.family("NoSuchFamily"));
    }

    @Test
    void continuationLinesBelongToTheFamilyAbove() {
        Map<String, String> m = BuiltinIndex.parse("A: x y\n    z\nB: w\n");
        assertEquals(Map.of("x", "A", "y", "A", "z", "A", "w", "B"), m);
    }
}
