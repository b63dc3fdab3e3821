package dev.coffer.rego;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Literals that only test (a term, {@code not} a term) and unifications of a variable with a
 * single-valued term are decided in the body's loop without continuations (Eval.evalBody), and
 * regex.match answers repeated questions from a per-evaluation memo. Each case states what the
 * literals mean, so the fast path must give the general path's answers and errors, including
 * where it must hand over to the general path (iteration, unsafe variables, reordering).
 */
class FastPathTest {
    private static final String INPUT = "{\"a\": 1, \"flag\": true, \"off\": false, \"xs\": [1, 2, 3], \"names\": [\"ab\", \"b\", \"ab\"],"
            + " \"o\": {\"k\": \"v\"}}";

    private static String eval(String rules, String rule) {
        return eval(rules, rule, EvalOptions.DEFAULT);
    }

    private static String eval(String rules, String rule, EvalOptions options) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego", "package t\nimport rego.v1\n" + rules)));
        Value v = p.evalRef("data.t." + rule, Json.parse(INPUT), new DataStore(), options).value();
        return v == null ? "undefined" : v.toJson();
    }

    /** == and != are compared in Eval.simple without the built-in call: same answers, and a with still replaces them. */
    @Test
    void equalityOperators() {
        assertEquals("[true,false,true,false]", eval("p := [input.a == 1, input.a == 1.5, input.a != \"1\", input.o == {\"k\": \"v\"} == false]\n", "p"));
        assertEquals("true", eval("p if { input.a == 1.0; input.xs == [1, 2.0, 3]; input.names != input.xs }\n", "p"), "numbers compare by value");
        assertEquals("undefined", eval("p if input.missing == 1\n", "p"), "an undefined operand makes the comparison undefined");
        assertEquals("undefined", eval("p if input.missing != 1\n", "p"), "not true: != of an undefined operand is undefined too");
        assertEquals("true", eval("p if not input.missing == 1\n", "p"));
        assertEquals("true", eval("p if { input.a == 2 with equal as mock }\nmock(_, _) := true\n", "p"), "a with replaces ==");
        assertEquals("undefined", eval("p if { input.a != 2 with neq as false }\n", "p"), "a with replaces !=");
        assertEquals("[[2,2]]", eval("p := [[x, y] | some x in input.xs; some y in input.xs; x == y; x == 2]\n", "p"), "iteration still binds");
    }

    /** A definition whose constant parameter differs from the argument is passed over before its frame is made (Eval.completeRule). */
    @Test
    void functionDefinitionsChosenByConstantArguments() {
        String rules = "f(x, \"a\") := 1 if x > 0 else := 2\nf(_, \"b\") := 3\nf(x, 1) := x\n"
                + "p := [f(1, \"a\"), f(-1, \"a\"), f(1, \"b\"), f(7, 1.0)]\nq := f(1, \"c\")\nr := f(1, [\"a\"])\n";
        assertEquals("[1,2,3,7]", eval(rules, "p"), "the else belongs to its definition; 1.0 is the constant 1");
        assertEquals("undefined", eval(rules, "q"), "no definition for \"c\", not even an else");
        assertEquals("undefined", eval(rules, "r"));
    }

    @Test
    void testsHoldOrFail() {
        assertEquals("true", eval("p if { input.flag; input.a == 1; count(input.xs) > 2 }\n", "p"));
        assertEquals("undefined", eval("p if { input.flag; input.off }\n", "p"), "false fails the body");
        assertEquals("undefined", eval("p if { input.missing }\n", "p"), "undefined fails the body");
        assertEquals("undefined", eval("p if { input.a == 2 }\n", "p"));
        assertEquals("1", eval("p := input.a if input.o.k == \"v\"\n", "p"));
    }

    @Test
    void negatedTests() {
        assertEquals("true", eval("p if not input.missing\n", "p"), "not undefined holds");
        assertEquals("true", eval("p if not input.off\n", "p"), "not false holds");
        assertEquals("undefined", eval("p if not input.flag\n", "p"));
        assertEquals("true", eval("p if not input.a == 2\n", "p"));
        assertEquals("true", eval("p if { not startswith(input.o.k, \"x\") }\n", "p"));
        assertEquals("true", eval("p if not input.xs[_] == 4\n", "p"), "not over an iteration: the general path");
        assertEquals("undefined", eval("p if not input.xs[_] == 2\n", "p"));
    }

    @Test
    void variablesBoundOrCompared() {
        assertEquals("2", eval("p := y if { x := input.a; y := x + 1 }\n", "p"));
        assertEquals("2", eval("p := y if { input.a = x; y = x + 1 }\n", "p"), "the variable on the right");
        assertEquals("true", eval("p if { x := 1; x = input.a }\n", "p"), "bound: compared");
        assertEquals("undefined", eval("p if { x := 2; x = input.a }\n", "p"));
        assertEquals("true", eval("p if { x := 1; input.a = x }\n", "p"));
        assertEquals("undefined", eval("p if { x := input.missing; true }\n", "p"), "an undefined value binds nothing");
        assertEquals("[1,2,3]", eval("p := [x | x := input.xs[_]]\n", "p"), "iteration on the right: the general path");
        assertEquals("[\"ab\",\"ab\"]", eval("p := [x | x := input.names[_]; x == \"ab\"]\n", "p"));
        assertEquals("true", eval("p if { x := input.a; y := x; y == 1 }\n", "p"), "a bound variable on the right");
    }

    @Test
    void literalsNeedingLaterBindingsAreReordered() {
        assertEquals("true", eval("p if { count(y) > 0; y = [1] }\n", "p"), "a test before the binding of its variable");
        assertEquals("true", eval("p if { not y == 2; y = 1 }\n", "p"));
        assertEquals("2", eval("p := z if { z = y + 1; y = 1 }\n", "p"), "a unification before the binding it needs");
        RegoException e = assertThrows(RegoException.class, () -> eval("p if { count(y) > 0 }\n", "p"));
        assertEquals("rego_unsafe_var_error", e.code(), "a variable nothing binds is still an error");
    }

    @Test
    void errorsOfFastLiteralsAreTheGeneralPathsErrors() {
        EvalOptions strict = EvalOptions.DEFAULT.withStrictBuiltinErrors(true);
        RegoException e = assertThrows(RegoException.class, () -> eval("p if { x := 1 / 0; x > 0 }\n", "p", strict));
        assertTrue(e.getMessage().contains("divide by zero"), e.getMessage());
        assertEquals("undefined", eval("p if { x := 1 / 0; x > 0 }\n", "p"), "undefined when built-in errors are not strict");
        RegoException conflict = assertThrows(RegoException.class, () -> eval("p := x if x := input.xs[_]\n", "p"));
        assertEquals("eval_conflict_error", conflict.code());
        int four = fewestSteps("p if { input.a == 1; input.a == 1; input.a == 1; input.a == 1 }\n");
        int eight = fewestSteps("p if { input.a == 1; input.a == 1; input.a == 1; input.a == 1; x := input.a; x == 1; not input.off; input.flag }\n");
        assertEquals(4, eight - four, "each literal decided in the loop counts one step, as it did through the general path");
    }

    /** The smallest step limit the rule evaluates within (the limit's error below it). */
    private static int fewestSteps(String rules) {
        for (int n = 1; n < 100; n++) {
            try {
                assertEquals("true", eval(rules, "p", EvalOptions.DEFAULT.withMaxSteps(n)));
                return n;
            } catch (RegoException e) {
                assertEquals("eval_limit_error", e.code());
            }
        }
        throw new AssertionError("did not evaluate within 100 steps");
    }

    @Test
    void regexMatchesAreRememberedWithinAnEvaluationOnly() {
        assertEquals("[true,false,true]", eval("p := [regex.match(\"^a.+$\", x) | some x in input.names]\n", "p"));
        String rules = "p := [regex.match(\"^a\", x) | some x in input.names]\nq := [regex.match(\"^b\", x) | some x in input.names]\n";
        assertEquals("[true,false,true]", eval(rules, "p"));
        assertEquals("[false,true,false]", eval(rules, "q"), "another pattern on the same strings");
        EvalOptions strict = EvalOptions.DEFAULT.withStrictBuiltinErrors(true);
        RegoException bad = assertThrows(RegoException.class, () -> eval("p := regex.match(\"(\", 1)\n", "p", strict));
        assertTrue(bad.getMessage().contains("error parsing regexp"), "a bad pattern is reported before a bad operand: " + bad.getMessage());
        RegoException operand = assertThrows(RegoException.class, () -> eval("p := regex.match(\"a\", 1)\n", "p", strict));
        assertTrue(operand.getMessage().contains("regex.match"), operand.getMessage());
    }
}
