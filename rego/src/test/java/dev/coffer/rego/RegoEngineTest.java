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
    @Test
    void containsRulesWithVariablesInMultiSegmentHeads() {
        CompiledPolicy p = compile("""
                package t
                import rego.v1
                p[q].r contains s if {
                    x := ["a", "b"]
                    q := x[_]
                    s := x[_]
                    q != s
                }
                p.b.r contains "extra"
                """);
        assertEquals(Json.parse("{\"a\":{\"r\":[\"b\"]},\"b\":{\"r\":[\"a\",\"extra\"]}}"), Json.parse(ref(p, "data.t.p", null).toJson()));
        assertEquals(Value.of("extra"), ref(p, "data.t.p.b.r.extra", null));
        assertNull(ref(p, "data.t.p.a.r.extra", null));
    }

    @Test
    void dataTreeEmptyPackagesBaseWinsAndNumberKeys() {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("a.rego", "package a.b\n"),
                new RegoModule("c.rego", "package c\nimport rego.v1\nk := \"virtual\"\nn := data.nums[2]\nab := data.a.b\n")));
        DataStore data = new DataStore(Json.parse("{\"c\":{\"k\":\"base\"},\"nums\":{\"2\":\"two\"}}"));
        assertEquals(ObjectValue.EMPTY, p.evalRef("data.c.ab", null, data, EvalOptions.DEFAULT).value());
        assertEquals(Value.of("two"), p.evalRef("data.c.n", null, data, EvalOptions.DEFAULT).value());
        // a base document and a rule at the same key: the base value wins when they cannot merge
        Value c = p.eval("x := data.c", null, data, EvalOptions.DEFAULT).rows().getFirst().get("x");
        assertEquals(Value.of("base"), ((ObjectValue) c).get(Value.of("k")));
        // a number key finds nothing in a rule's (virtual) object
        CompiledPolicy q = compile("package t\nimport rego.v1\nobj := {\"2\": 1}\nv := obj[2]\n");
        assertNull(ref(q, "data.t.v", null));
    }

    @Test
    void membershipChainsAndNestsInParentheses() {
        CompiledPolicy p = compile("""
                package t
                import rego.v1
                a if 1, 2 in [2] in [false, true]
                b := [(1, 1 in [2])]
                c := (1, "foo" in 1)
                """);
        assertEquals(Value.of(true), ref(p, "data.t.a", null));
        assertEquals(Json.parse("[false]"), ref(p, "data.t.b", null));
        assertEquals(Value.of(false), ref(p, "data.t.c", null));
        RegoException e = assertThrows(RegoException.class, () -> compile("package t\nimport rego.v1\nd := (1, 2 in)\n"));
        assertEquals("rego_parse_error", e.code());
    }

    @Test
    void walkAssignmentNegationOrderAndGroupedWith() {
        CompiledPolicy p = compile("""
                package t
                import rego.v1
                import future.keywords.and
                x := {"a": [1]}
                paths := [path | [path, _] := walk(x)]
                p := a if {
                    not a = f(1)
                    a = f(2)
                }
                f(v) := v
                g if {
                    (input.x < 2 with input.x as 1) and input.x == 5
                }
                unsafe if not b = 1
                """);
        assertEquals(Json.parse("[[],[\"a\"],[\"a\",0]]"), ref(p, "data.t.paths", null));
        assertEquals(Value.of(2), ref(p, "data.t.p", null));
        assertEquals(Value.of(true), ref(p, "data.t.g", "{\"x\":5}"));
        RegoException e = assertThrows(RegoException.class, () -> ref(p, "data.t.unsafe", null));
        assertEquals("rego_unsafe_var_error", e.code());
    }

    @Test
    void errorMessagesReadLikeOpaAndLocatedAddsTheColumn() {
        RegoException e = assertThrows(RegoException.class, () -> compile("package t\nimport rego.v1\nx := \n"));
        assertTrue(e.getMessage().startsWith("p.rego:4: rego_parse_error: "), e.getMessage());
        assertTrue(e.located().startsWith("p.rego:4:1: rego_parse_error: "), e.located());
        assertEquals("p.rego:4:1", e.location());
    }
    @Test
    void metadataAnnotationsAreConstantsOfTheRule() {
        CompiledPolicy p = compile("""
                # METADATA
                # description: tests
                package t
                import rego.v1

                # METADATA
                # title: the rule
                # authors:
                # - Ann Author <ann@example.com>
                r := rego.metadata.rule()

                c := rego.metadata.chain()

                unannotated := rego.metadata.rule()
                """);
        assertEquals(Json.parse("{\"title\":\"the rule\",\"scope\":\"rule\",\"authors\":[{\"name\":\"Ann Author\",\"email\":\"ann@example.com\"}]}"),
                Json.parse(ref(p, "data.t.r", null).toJson()));
        assertEquals(Json.parse("[{\"path\":[\"t\",\"c\"]},{\"path\":[\"t\"],\"annotations\":{\"description\":\"tests\",\"scope\":\"package\"}}]"),
                Json.parse(ref(p, "data.t.c", null).toJson()));
        assertEquals(ObjectValue.EMPTY, ref(p, "data.t.unannotated", null));
        RegoException e = assertThrows(RegoException.class, () -> compile("package t\n# METADATA\n# title: [unclosed\nx := 1\n"));
        assertEquals("rego_parse_error", e.code());
        assertTrue(e.getMessage().contains("METADATA"), e.getMessage());
    }
}
