package dev.coffer.rego;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code some x in xs; x == a} is evaluated as a membership loop (Eval.someInEqual): each case
 * here states what the two literals mean one after the other, so the shortcut must give the same
 * answers as the general path, including where it must not apply.
 */
class MembershipShortcutTest {
    private static final String INPUT = "{\"caps\":[\"CAP_A\",\"CAP_B\",\"CAP_A\"],\"allowed\":[\"CAP_B\",\"CAP_A\"],\"nums\":[1,2.0,3],"
            + "\"obj\":{\"k1\":\"v\",\"k2\":\"w\"},\"want\":\"CAP_B\",\"n\":2}";

    private static String eval(String rules, String rule) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego", "package t\nimport rego.v1\n" + rules)));
        Value v = p.evalRef("data.t." + rule, Json.parse(INPUT), new DataStore(), EvalOptions.DEFAULT).value();
        return v == null ? "undefined" : v.toJson();
    }

    @Test
    void membershipEitherWayRound() {
        assertEquals("true", eval("p if { some x in input.caps; x == input.want }\n", "p"));
        assertEquals("true", eval("p if { some x in input.caps; input.want == x }\n", "p"));
        assertEquals("undefined", eval("p if { some x in input.caps; x == \"CAP_Z\" }\n", "p"));
        assertEquals("undefined", eval("p if { some x in input.caps; \"CAP_Z\" == x }\n", "p"));
    }

    @Test
    void theVariableIsBoundToEachEqualMember() {
        assertEquals("[\"CAP_A\",\"CAP_A\"]", eval("p := [x | some x in input.caps; x == \"CAP_A\"]\n", "p"), "duplicates match twice");
        assertEquals("\"CAP_B!\"", eval("p := y if { some x in input.caps; x == input.want; y := concat(\"\", [x, \"!\"]) }\n", "p"),
                "the literals after see x");
        assertEquals("[2]", eval("p := [x | some x in input.nums; x == input.n]\n", "p"), "2.0 equals 2, and x is the member");
    }

    @Test
    void longListsSearchedAgainAnswerAsBefore() {
        // twelve members with duplicates: the second search of the same list goes through its index
        String rules = "l := [\"a\", \"b\", \"c\", \"a\", \"d\", \"e\", \"f\", \"g\", \"h\", \"a\", 2, 1]\n"
                + "p := [[w, x] | some w in [\"a\", \"h\", \"z\", \"a\", 1.0]; some x in l; x == w]\n"
                + "q := [w | some w in [\"h\", \"z\", \"a\", 2.0]; w in l]\n";
        assertEquals("[[\"a\",\"a\"],[\"a\",\"a\"],[\"a\",\"a\"],[\"h\",\"h\"],[\"a\",\"a\"],[\"a\",\"a\"],[\"a\",\"a\"],[1,1]]",
                eval(rules, "p"), "each equal member once, in order, for every search");
        assertEquals("[\"h\",\"a\",2]", eval(rules, "q"), "2.0 is the member 2");
    }

    @Test
    void setsAndObjectValues() {
        assertEquals("true", eval("s := {\"a\", \"b\"}\np if { some x in s; x == \"b\" }\n", "p"));
        assertEquals("true", eval("p if { some v in input.obj; v == \"w\" }\n", "p"), "an object's values are its members");
        assertEquals("undefined", eval("p if { some v in input.obj; v == \"k1\" }\n", "p"), "its keys are not");
    }

    @Test
    void theFrameworksListComparisons() {
        String rules = "same(a, b) if {\n  count(a) == count(b)\n  every x in a { some y in b; x == y }\n  every y in b { some x in a; y == x }\n}\n"
                + "p if same(input.allowed, [\"CAP_A\", \"CAP_B\"])\nq if same(input.allowed, [\"CAP_A\", \"CAP_C\"])\n";
        assertEquals("true", eval(rules, "p"));
        assertEquals("undefined", eval(rules, "q"));
        assertEquals("[\"CAP_A\",\"CAP_B\"]", eval("p := {c | some c in input.caps; some a in input.allowed; c == a}\n", "p"));
    }

    @Test
    void whereTheShortcutDoesNotApplyTheGeneralPathDecides() {
        assertEquals("undefined", eval("p if { some x in input.caps; x == input.missing }\n", "p"), "an undefined operand is undefined");
        assertEquals("undefined", eval("p if { some x in input.missing; x == \"CAP_A\" }\n", "p"), "an undefined collection is undefined");
        assertEquals("undefined", eval("p if { some x in input.want; x == \"C\" }\n", "p"), "a string is no collection");
        assertEquals("true", eval("p if { some x in input.caps; x == lower(\"CAP_A\") }\nlower(s) := s\n", "p"), "a call operand");
        assertEquals("true", eval("p if { some x in input.caps; x == x }\n", "p"), "x on both sides is an ordinary comparison");
        assertEquals("[\"CAP_B\"]", eval("p := [x | some x in input.caps; x == y; y = input.want]\n", "p"),
                "an operand bound later: the literals are reordered as before");
        RegoException e = assertThrows(RegoException.class, () -> eval("p if { some x in input.caps; x == y }\n", "p"));
        assertTrue(e.getMessage().contains("var y"), "an operand nothing binds is still an error naming it: " + e.getMessage());
    }

    @Test
    void evaluationLimitsStillCountTheLoop() {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego",
                "package t\nimport rego.v1\nxs := numbers.range(1, 100000)\np if { some x in xs; x == 100000 }\n")));
        RegoException e = assertThrows(RegoException.class, () -> p.evalRef("data.t.p", null, new DataStore(), EvalOptions.DEFAULT.withMaxSteps(10_000)));
        assertTrue(e.getMessage().contains("steps"), e.getMessage());
        assertEquals("true", p.evalRef("data.t.p", null, new DataStore(), EvalOptions.DEFAULT.withMaxSteps(1_000_000)).value().toJson());
    }
}
