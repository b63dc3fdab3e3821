package dev.coffer.rego;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class RegoEngineTest {
    private static CompiledPolicy compile(String src) {
        return Rego.compile(List.of(new RegoModule("p.rego", src)));
    }

    private static Value ref(CompiledPolicy p, String ref, String input) {
        return p.evalRef(ref, input == null ? null : Json.parse(input), new DataStore(), EvalOptions.DEFAULT).value();
    }

    @Test
    void undefinedIsDistinctFromFalse() {
        CompiledPolicy p = compile("package t\nimport rego.v1\nallow if input.x == 1\ndeny := false\n");
        assertNull(ref(p, "data.t.allow", "{\"x\":2}"));
        assertEquals(Value.of(true), ref(p, "data.t.allow", "{\"x\":1}"));
        assertEquals(Value.of(false), ref(p, "data.t.deny", null));
    }

    @Test
    void v0AndV1ModulesCompileTogether() {
        CompiledPolicy p = Rego.compile(List.of(
                new RegoModule("old.rego", "package old\nallow { input.user == \"alice\" }\nnames[n] { n := input.names[_] }\n"),
                new RegoModule("new.rego", "package new\nimport rego.v1\nok if data.old.allow\nset contains n if some n in data.old.names\n")),
                Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
        Value in = Json.parse("{\"user\":\"alice\",\"names\":[\"a\",\"b\"]}");
        assertEquals(Value.of(true), p.evalRef("data.new.ok", in, null, EvalOptions.DEFAULT).value());
        assertEquals(Json.parse("[\"a\",\"b\"]"), Json.parse(p.evalRef("data.new.set", in, null, EvalOptions.DEFAULT).value().toJson()));
    }

    @Test
    void functionsElseDefaultEveryComprehensionsWith() {
        CompiledPolicy p = compile("""
                package t
                import rego.v1
                default grade := "none"
                grade := "high" if input.score > 90
                else := "mid" if input.score > 50
                f(x) := y if y := x * 2
                all_pos if every v in input.xs { v > 0 }
                doubled := [f(x) | some x in input.xs]
                mocked := n if {
                    n := count(input.xs) with input.xs as [1]
                }
                obj[k] := v if some k, v in {"a": 1, "b": 2}
                """);
        assertEquals(Value.of("mid"), ref(p, "data.t.grade", "{\"score\":60,\"xs\":[1,2]}"));
        assertEquals(Value.of("none"), ref(p, "data.t.grade", "{\"score\":10,\"xs\":[1,2]}"));
        assertEquals(Value.of(true), ref(p, "data.t.all_pos", "{\"xs\":[1,2]}"));
        assertNull(ref(p, "data.t.all_pos", "{\"xs\":[1,-2]}"));
        assertEquals(Json.parse("[2,4]"), ref(p, "data.t.doubled", "{\"xs\":[1,2]}"));
        assertEquals(NumberValue.of(1), ref(p, "data.t.mocked", "{\"xs\":[1,2,3]}"));
        assertEquals(Json.parse("{\"a\":1,\"b\":2}"), ref(p, "data.t.obj", null));
    }

    @Test
    void numbersAreExact() {
        CompiledPolicy p = compile("package t\nx := 0.1 + 0.2\nbig := 123456789012345678901234567890 * 10\n");
        assertEquals(NumberValue.of(new BigDecimal("0.3")), ref(p, "data.t.x", null));
        assertEquals(NumberValue.of(new BigDecimal("1234567890123456789012345678900")), ref(p, "data.t.big", null));
    }

    @Test
    void printIsCapturedAndRegexIsRe2() {
        CompiledPolicy p = compile("package t\nimport rego.v1\nok if {\n print(\"hello\", input.missing)\n regex.match(`^a+$`, \"aaa\")\n}\n");
        EvalResult r = p.evalRef("data.t.ok", Json.parse("{}"), null, EvalOptions.DEFAULT);
        assertEquals(Value.of(true), r.value());
        assertEquals(List.of("hello <undefined>"), r.prints());
    }

    @Test
    void conflictsAreErrorsWithCodes() {
        CompiledPolicy p = compile("package t\nimport rego.v1\nx := 1 if input.a\nx := 2 if input.b\n");
        RegoException e = assertThrows(RegoException.class, () -> ref(p, "data.t.x", "{\"a\":true,\"b\":true}"));
        assertEquals("eval_conflict_error", e.code());
        assertTrue(e.getMessage().contains("p.rego:"), e.getMessage());
    }

    @Test
    void strictBuiltinErrors() {
        CompiledPolicy p = compile("package t\nx := to_number(input.s)\n");
        assertNull(ref(p, "data.t.x", "{\"s\":\"abc\"}"));
        RegoException e = assertThrows(RegoException.class, () -> p.evalRef("data.t.x", Json.parse("{\"s\":\"abc\"}"), null,
                EvalOptions.DEFAULT.withStrictBuiltinErrors(true)));
        assertEquals("eval_builtin_error", e.code());
    }

    @Test
    void parseErrorsNameModuleLineColumn() {
        RegoException e = assertThrows(RegoException.class, () -> compile("package t\n\nx := [1, 2\n"));
        assertEquals("rego_parse_error", e.code());
        assertTrue(e.location().startsWith("p.rego:"), e.getMessage());
        RegoException u = assertThrows(RegoException.class, () -> compile("package t\nx := no_such_fn(1)\n"));
        assertEquals("rego_type_error", u.code());
        assertTrue(u.getMessage().contains("p.rego:2:"), u.getMessage());
        assertThrows(RegoException.class, () -> compile("package t\nimport rego.v1\np { true }\n"));
        assertThrows(RegoException.class, () -> compile(""));
    }

    @Test
    void hostileNestingIsAnErrorNotAStackOverflow() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        RegoException e = assertThrows(RegoException.class, () -> compile("package t\nx := " + deep + "\n"));
        assertEquals("rego_parse_error", e.code());
        CompiledPolicy rec = compile("package t\nimport rego.v1\nf(n) := y if { n > 0; y := f(n - 1) + 1 }\nf(0) := 0\n");
        RegoException d = assertThrows(RegoException.class, () -> rec.eval("x := data.t.f(100000)", null, null, EvalOptions.DEFAULT));
        assertEquals("eval_limit_error", d.code());
    }

    @Test
    void stepAndTimeLimitsStopRunawayPolicies() {
        CompiledPolicy p = compile("package t\nimport rego.v1\nx := count([1 | numbers.range(1, 1000)[_]; numbers.range(1, 1000)[_]])\n");
        RegoException e = assertThrows(RegoException.class, () -> p.evalRef("data.t.x", null, null, EvalOptions.DEFAULT.withMaxSteps(10_000)));
        assertEquals("eval_limit_error", e.code());
        RegoException t = assertThrows(RegoException.class, () -> p.evalRef("data.t.x", null, null,
                EvalOptions.DEFAULT.withTimeout(java.time.Duration.ofMillis(1))));
        assertEquals("eval_limit_error", t.code());
        CompiledPolicy loud = compile("package t\nimport rego.v1\nx contains i if { some i in numbers.range(1, 100000); print(\"spam spam spam\") }\n");
        assertThrows(RegoException.class, () -> loud.evalRef("data.t.x", null, null, EvalOptions.DEFAULT.withMaxOutputBytes(1000)));
    }

    @Test
    void dataStoreKeepsStateBetweenRequestsAndIsThreadSafe() throws Exception {
        CompiledPolicy p = compile("package t\nimport rego.v1\nstarted if data.state.started[input.id]\n");
        DataStore data = new DataStore();
        assertNull(p.evalRef("data.t.started", Json.parse("{\"id\":\"c1\"}"), data, EvalOptions.DEFAULT).value());
        data.put(List.of("state", "started", "c1"), Value.of(true));
        assertEquals(Value.of(true), p.evalRef("data.t.started", Json.parse("{\"id\":\"c1\"}"), data, EvalOptions.DEFAULT).value());
        assertThrows(IllegalArgumentException.class, () -> data.put(List.of("state", "started", "c1", "x"), Value.of(1)));
        assertEquals(Value.of(true), data.get(List.of("state", "started", "c1")), "a rejected write changes nothing");
        assertTrue(data.remove(List.of("state", "started", "c1")));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Value>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String id = "c" + i;
                fs.add(pool.submit(() -> {
                    data.put(List.of("state", "started", id), Value.of(true));
                    return p.evalRef("data.t.started", Json.parse("{\"id\":\"" + id + "\"}"), data, EvalOptions.DEFAULT).value();
                }));
            }
            for (Future<Value> f : fs) assertEquals(Value.of(true), f.get(10, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        assertEquals(200, ((ObjectValue) data.get(List.of("state", "started"))).size());
    }

    @Test
    void queriesReturnBindingRows() {
        CompiledPolicy p = compile("package t\nxs := [\"a\", \"b\"]\n");
        EvalResult r = p.eval("x := data.t.xs[i]", null, null, EvalOptions.DEFAULT);
        assertEquals(List.of(Map.of("x", Value.of("a"), "i", Value.of(0)), Map.of("x", Value.of("b"), "i", Value.of(1))), r.rows());
        assertTrue(p.eval("data.t.xs[_] == \"z\"", null, null, EvalOptions.DEFAULT).rows().isEmpty());
    }

    @Test
    void valuesConvertFromAndToJava() {
        Value v = Value.fromJava(Map.of("a", List.of(1, 2.5, "s", true), "n", java.util.Set.of("x")));
        assertEquals("{\"a\":[1,2.5,\"s\",true],\"n\":[\"x\"]}", v.toJson());
        assertEquals(v.toJson(), Json.fromJsonNode(Json.toJsonNode(Json.parse(v.toJson()))).toJson());
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": "));
        assertThrows(IllegalArgumentException.class, () -> Value.fromJava(new Object()));
    }
}
