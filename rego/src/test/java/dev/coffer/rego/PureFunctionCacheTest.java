package dev.coffer.rego;

import dev.coffer.rego.builtins.Builtin;
import dev.coffer.rego.builtins.Builtins;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Results of pure functions are shared across evaluations of a compiled policy; everything that
 * could make a function's answer differ between evaluations keeps it out of the cache.
 */
class PureFunctionCacheTest {
    private static final String POLICY = """
            package t
            import rego.v1
            anchored(p) := sprintf("^%s$", [p])
            matches(p, v) if regex.match(anchored(p), v)
            reads_input(x) := x + input.n
            reads_data(x) := x + data.k
            at_time(x) := [x, time.now_ns()]
            calls_impure(x) := reads_input(x)
            ok if matches(input.p, input.v)
            sum := reads_input(1)
            dsum := reads_data(1)
            mocked if matches(input.p, input.v) with regex.match as false
            strict_err := anchored(input.p)
            big(n) := numbers.range(1, n)
            big_count := count(big(input.n))
            signs(c) := io.jwt.encode_sign({"alg": "ES256"}, c, {})
            signs_raw(c) := io.jwt.encode_sign_raw("{}", c, "{}")
            chain_ok(pem) := crypto.x509.parse_and_verify_certificates(pem)
            verifies(t) := io.jwt.decode_verify(t, {"secret": "s"})
                        """;

    private static final CompiledPolicy P = Rego.compile(List.of(new RegoModule("t.rego", POLICY)));

    private static Value eval(String ref, String input) {
        return P.evalRef(ref, Json.parse(input), new DataStore(Json.parse("{\"k\": 10}")), EvalOptions.DEFAULT).value();
    }

    private static Ir.RuleSet ruleSet(String name) {
        return P.root().children.get(Value.of("t")).children.get(Value.of(name)).rules;
    }

    @Test
    void pureFunctionsAreRecognised() {
        assertTrue(Purity.isPure(ruleSet("anchored")));
        assertTrue(Purity.isPure(ruleSet("matches")));
        assertFalse(Purity.isPure(ruleSet("reads_input")), "reads input");
        assertFalse(Purity.isPure(ruleSet("reads_data")), "reads data");
        assertFalse(Purity.isPure(ruleSet("at_time")), "reads the clock");
        assertFalse(Purity.isPure(ruleSet("calls_impure")), "calls a function that reads input");
    }

    @Test
    void sharedResultsGiveTheSameAnswersAcrossEvaluations() {
        assertEquals(Value.of(true), eval("data.t.ok", "{\"p\": \"a+\", \"v\": \"aaa\"}"));
        assertEquals(null, eval("data.t.ok", "{\"p\": \"a+\", \"v\": \"aab\"}"));
        assertEquals(Value.of(true), eval("data.t.ok", "{\"p\": \"a+\", \"v\": \"aaa\"}"));
        assertFalse(ruleSet("matches").sharedResults.isEmpty(), "matches' results are kept for the next evaluation");
        // functions that read input or data answer per evaluation
        assertEquals(Value.of(3), eval("data.t.sum", "{\"n\": 2}"));
        assertEquals(Value.of(6), eval("data.t.sum", "{\"n\": 5}"));
        assertEquals(Value.of(11), eval("data.t.dsum", "{}"));
        assertTrue(ruleSet("reads_input").sharedResults.isEmpty());
    }

    @Test
    void aWithReplacementBypassesTheSharedResults() {
        assertEquals(Value.of(true), eval("data.t.ok", "{\"p\": \"b+\", \"v\": \"bb\"}"));
        assertEquals(null, eval("data.t.mocked", "{\"p\": \"b+\", \"v\": \"bb\"}"), "regex.match replaced by false");
        assertEquals(Value.of(true), eval("data.t.ok", "{\"p\": \"b+\", \"v\": \"bb\"}"));
    }

    @Test
    void strictAndLenientErrorsAreKeptApart() {
        // sprintf with a non-string operand still formats; a bad regex is an error only when strict
        assertEquals(null, P.evalRef("data.t.ok", Json.parse("{\"p\": \"(\", \"v\": \"x\"}"), null, EvalOptions.DEFAULT).value());
        RegoException e = assertThrows(RegoException.class, () -> P.evalRef("data.t.ok", Json.parse("{\"p\": \"(\", \"v\": \"x\"}"), null,
                EvalOptions.DEFAULT.withStrictBuiltinErrors(true)));
        assertEquals("eval_builtin_error", e.code());
    }

    @Test
    void largeResultsAreNotKept() {
        assertEquals(Value.of(10), eval("data.t.big_count", "{\"n\": 10}"));
        assertEquals(Value.of(100000), eval("data.t.big_count", "{\"n\": 100000}"));
        assertEquals(1, ruleSet("big").sharedResults.size(), "the ten-element range is kept, the large one is not");
        assertEquals(-1, Eval.nodesWithin(Json.parse("[[1,2],[3,4]]"), 6));
        assertEquals(0, Eval.nodesWithin(Json.parse("[[1,2],[3,4]]"), 7));
    }

    @Test
    void everyContextDependentBuiltinIsRealAndEveryNondeterministicOneIsListed() {
        for (String name : Purity.CONTEXT_DEPENDENT) assertTrue(Builtins.get(name) != null, name + " is a registered built-in");
        for (String name : Builtins.names()) {
            Builtin b = Builtins.get(name);
            if (b.nondeterministic()) assertTrue(Purity.CONTEXT_DEPENDENT.contains(name), name + " is nondeterministic, so context-dependent");
        }
    }

    @Test
    void functionsThatReadTheClockOrRandomnessAreNotShared() {
        assertFalse(Purity.isPure(ruleSet("signs")), "ECDSA signatures differ on every call");
        assertFalse(Purity.isPure(ruleSet("signs_raw")), "signing draws randomness");
        assertFalse(Purity.isPure(ruleSet("chain_ok")), "certificate validity depends on the evaluation's time");
        assertFalse(Purity.isPure(ruleSet("verifies")), "exp and nbf are checked against the evaluation's time");
    }
}
