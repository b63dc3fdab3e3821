package dev.coffer.rego;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rego v0 syntax (OPA before 1.0, and every policy Microsoft's confidential containers ship),
 * each case written from OPA's documented semantics (policy language reference, "Rego v0
 * compatibility" and the future-keywords section): keywords are optional, {@code if},
 * {@code contains}, {@code in} and {@code every} are keywords only once imported, and a
 * rule's kind follows from its head as OPA's parser decides it. {@link RuleHeadKindTest}
 * holds the head-kind cases this suite does not repeat.
 */
class V0SyntaxTest {
    private static final String INPUT = "{\"xs\":[\"x\",\"y\"],\"n\":3,\"user\":\"alice\"}";

    private static CompiledPolicy compile(String rules) {
        return Rego.compile(List.of(new RegoModule("p.rego", "package t\n" + rules)), Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
    }

    /** data.t.{@code rule} of the v0 module, as JSON, or "undefined". */
    private static String v0(String rules, String rule) {
        Value v = compile(rules).evalRef("data.t." + rule, Json.parse(INPUT), null, EvalOptions.DEFAULT).value();
        return v == null ? "undefined" : v.toJson();
    }

    @Test
    void bodiesNeedNoKeyword() {
        assertEquals("true", v0("p { input.n > 2 }\n", "p"));
        assertEquals("undefined", v0("p { input.n > 5 }\n", "p"));
        assertEquals("7", v0("p = 7 { true }\n", "p"));
        assertEquals("7", v0("p := 7 { true }\n", "p"), "v0 accepts := in a head");
        assertEquals("\"alice\"", v0("p = u { u := input.user }\n", "p"));
        assertEquals("true", v0("p { true; input.n == 3 }\n", "p"), "semicolons separate expressions");
        assertEquals("true", v0("p {\n  input.n == 3\n  input.user == \"alice\"\n}\n", "p"), "so do new lines");
    }

    @Test
    void constantsWithoutBodies() {
        assertEquals("[1,2]", v0("p = [1, 2]\n", "p"));
        assertEquals("{\"a\":1}", v0("p := {\"a\": 1}\n", "p"));
        assertEquals("[]", v0("p = set()\n", "p"), "set() is the empty set");
    }

    @Test
    void incrementalDefinitionsMergeAndConflictsAreErrors() {
        assertEquals("[\"a\",\"b\",\"x\",\"y\"]", v0("p[x] { x := input.xs[_] }\np[x] { x := [\"a\", \"b\"][_] }\n", "p"));
        assertEquals("{\"k\":1,\"x\":2}", v0("p[\"k\"] = 1 { true }\np[x] = 2 { x := input.xs[0] }\n", "p"));
        assertEquals("true", v0("p { input.n == 1 }\np { input.n == 3 }\n", "p"), "rules with one name are OR-ed");
        RegoException e = assertThrows(RegoException.class, () -> v0("p = 1 { true }\np = 2 { true }\n", "p"));
        assertTrue(e.getMessage().contains("conflict") || e.code().contains("conflict"), "a complete rule with two values is a conflict: " + e.getMessage());
        RegoException o = assertThrows(RegoException.class, () -> v0("p[k] = 1 { k := \"a\" }\np[k] = 2 { k := \"a\" }\n", "p"));
        assertTrue(o.getMessage().contains("conflict") || o.code().contains("conflict"), "one key with two values is a conflict: " + o.getMessage());
    }

    @Test
    void partialSetMembersOfEveryShape() {
        assertEquals("[0,1]", v0("p[i] { input.xs[i] }\n", "p"), "a set of indices");
        assertEquals("[[1,2]]", v0("p[[a, b]] { a := 1; b := 2 }\n", "p"), "a composite member");
        assertEquals("[3]", v0("p[input.n] { true }\n", "p"), "a key computed from input");
        assertEquals("2", v0("p[x] { x := input.xs[_] }\nq = n { n := count(p) }\n", "q"));
        assertEquals("true", v0("p[x] { x := input.xs[_] }\nq { p[\"y\"] }\n", "q"), "membership by lookup");
        assertEquals("undefined", v0("p[x] { x := input.xs[_] }\nq { p[\"z\"] }\n", "q"));
    }

    @Test
    void defaultsApplyWhenNoDefinitionHolds() {
        assertEquals("false", v0("default p = false\np { input.n > 5 }\n", "p"));
        assertEquals("true", v0("default p = false\np { input.n > 1 }\n", "p"));
        assertEquals("\"none\"", v0("default p := \"none\"\np = x { x := input.missing }\n", "p"));
    }

    @Test
    void elseChainsTakeTheFirstBranchThatHolds() {
        String rules = "p = \"big\" { input.n > 10 } else = \"mid\" { input.n > 2 } else = \"small\" { true }\n";
        assertEquals("\"mid\"", v0(rules, "p"));
        assertEquals("true", v0("p { input.n > 10 } else { input.n == 3 }\n", "p"), "a valueless else is true");
        assertEquals("\"b\"", v0("f(x) = \"a\" { x > 10 } else = \"b\" { true }\nq = f(input.n)\n", "q"), "functions take else too");
    }

    @Test
    void functionsWithAndWithoutValues() {
        assertEquals("4", v0("f(x) = y { y := x + 1 }\nq = f(input.n)\n", "q"));
        assertEquals("true", v0("f(x) { x > 1 }\nq { f(input.n) }\n", "q"), "a valueless function is true when its body holds");
        assertEquals("undefined", v0("f(x) { x > 5 }\nq { f(input.n) }\n", "q"));
        assertEquals("[\"x!\",\"y!\"]", v0("bang(s) = concat(\"\", [s, \"!\"])\nq = [b | b := bang(input.xs[_])]\n", "q"));
        assertEquals("\"two\"", v0("f(1) = \"one\"\nf(2) = \"two\"\nq = f(2)\n", "q"), "constant arguments select a definition");
    }

    @Test
    void withReplacesInputAndData() {
        assertEquals("true", v0("p { input.n == 1 }\nq { p with input.n as 1 }\n", "q"));
        assertEquals("undefined", v0("p { input.n == 1 }\nq { p }\n", "q"));
        assertEquals("true", v0("p { data.cfg.on }\nq { p with data.cfg.on as true }\n", "q"));
        assertEquals("true", v0("q { not p with input.n as 9 }\np { input.n == 3 }\n", "q"));
    }

    @Test
    void negation() {
        assertEquals("true", v0("p { not input.missing }\n", "p"));
        assertEquals("undefined", v0("p { not input.n }\n", "p"));
        assertEquals("true", v0("deny[m] { input.n > 5; m := \"big\" }\np { not deny[\"big\"] }\n", "p"));
        assertEquals("true", v0("f(x) { x == \"x\" }\np { not f(input.user) }\n", "p"));
    }

    @Test
    void comprehensions() {
        assertEquals("[\"x\",\"y\"]", v0("p = [x | x := input.xs[_]]\n", "p"));
        assertEquals("[\"x\",\"y\"]", v0("p = {x | x := input.xs[_]}\n", "p"));
        assertEquals("{\"x\":0,\"y\":1}", v0("p = {x: i | x := input.xs[i]}\n", "p"));
        assertEquals("[]", v0("p = [x | x := input.xs[_]; x == \"z\"]\n", "p"), "an empty comprehension is defined");
        assertEquals("[[\"x\",\"x\"],[\"x\",\"y\"],[\"y\",\"x\"],[\"y\",\"y\"]]",
                v0("p = [[a, b] | a := input.xs[_]; b := input.xs[_]]\n", "p"));
    }

    @Test
    void someDeclaresLocalsAndUnificationBindsBothSides() {
        assertEquals("true", v0("p { some i; input.xs[i] == \"y\"; i == 1 }\n", "p"));
        assertEquals("true", v0("p { [a, 2] = [1, b]; a == 1; b == 2 }\n", "p"));
        assertEquals("undefined", v0("p { [a, 2] = [1, 3] }\n", "p"));
    }

    @Test
    void futureKeywordsAreKeywordsOnlyOnceImported() {
        assertEquals("true", v0("p { contains(\"alice\", \"lic\") }\n", "p"), "without the import contains is the string built-in");
        assertEquals("true", v0("import future.keywords.in\np { \"y\" in input.xs }\n", "p"));
        assertEquals("true", v0("import future.keywords.in\np { some x in input.xs; x == \"y\" }\n", "p"));
        assertEquals("true", v0("import future.keywords.in\np { some i, x in input.xs; i == 1; x == \"y\" }\n", "p"));
        assertEquals("true", v0("import future.keywords.every\np { every x in input.xs { count(x) == 1 } }\n", "p"));
        assertEquals("undefined", v0("import future.keywords.every\np { every x in input.xs { x == \"x\" } }\n", "p"));
        assertEquals("[\"x\",\"y\"]", v0("import future.keywords.contains\np contains x { x := input.xs[_] }\n", "p"));
        assertEquals("true", v0("import future.keywords.if\np if input.n == 3\n", "p"), "if takes a single expression without braces");
        assertEquals("[\"x\",\"y\"]", v0("import future.keywords\np contains x if some x in input.xs\n", "p"), "the bare import brings all of them");
        assertThrows(RegoException.class, () -> v0("p { \"y\" in input.xs }\n", "p"), "in is no operator in v0 without the import");
        assertEquals("2", v0("p = in { in := 2 }\n", "p"), "without the import in is a plain name");
        assertEquals("[\"a\"]", v0("every[x] { x := \"a\" }\n", "every"), "and so is every");
        assertEquals("true", v0("if = true { true }\np { if }\n", "p"), "and if");
    }

    @Test
    void theRegoV1ImportMakesAModuleV1() {
        assertEquals("[\"x\",\"y\"]", v0("import rego.v1\np contains x if some x in input.xs\n", "p"));
        assertEquals("true", v0("import rego.v1\np if { every x in input.xs { x != \"z\" } }\n", "p"));
        RegoException e = assertThrows(RegoException.class, () -> v0("import rego.v1\np { true }\n", "p"));
        assertTrue(e.getMessage().contains("if"), "a v1 module needs if before a body, and the error says so: " + e.getMessage());
        assertThrows(RegoException.class, () -> v0("import rego.v1\np[x] { x := 1 }\n", "p"), "v1 has no keyword-less partial set");
    }

    @Test
    void refHeads() {
        assertEquals("{\"b\":{\"c\":1}}", v0("a.b.c = 1 { true }\n", "a"));
        assertEquals("{\"k\":1}", v0("a.b[x] = 1 { x := \"k\" }\n", "a.b"));
        assertEquals("[\"b\"]", v0("a.b { true }\n", "a"), "a two-term valueless head is a set member in v0");
        assertEquals("true", v0("a.b.c { input.n == 3 }\n", "a.b.c"), "a longer valueless head is true");
        assertEquals("{\"x\":{\"v\":1},\"y\":{\"v\":1}}", v0("a[x].v = 1 { x := input.xs[_] }\n", "a"));
    }

    @Test
    void deprecatedBuiltinsRemainInV0() {
        assertEquals("true", v0("p { re_match(\"^a+$\", \"aaa\") }\n", "p"));
        assertEquals("[1]", v0("p = set_diff({1, 2}, {2})\n", "p"));
        assertEquals("[1,2]", v0("p = cast_array([1, 2])\n", "p"));
        assertEquals("true", v0("p = any([false, true])\n", "p"));
        assertEquals("[\"a\",\"b\"]", v0("p = cast_set([\"b\", \"a\", \"b\"])\n", "p"));
        assertEquals("undefined", v0("p = cast_string(1)\n", "p"), "casts convert nothing: a wrong operand is undefined, as any built-in error");
        RegoException t = assertThrows(RegoException.class, () -> compile("p = cast_string(1)\n")
                .evalRef("data.t.p", null, null, EvalOptions.DEFAULT.withStrictBuiltinErrors(true)));
        assertTrue(t.getMessage().contains("cast_string"), "with strict built-in errors the error names the built-in: " + t.getMessage());
        RegoException e = assertThrows(RegoException.class, () -> v0("import rego.v1\np := set_diff({1, 2}, {2})\n", "p"));
        assertTrue(e.getMessage().contains("undefined function set_diff"), "v1 modules cannot call deprecated built-ins: " + e.getMessage());
    }

    @Test
    void packagesAreNestedDocuments() {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("a.rego", "package a.b\nx = 1\n"), new RegoModule("c.rego", "package c\ny = data.a.b.x + 1\n")),
                Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
        assertEquals("2", p.evalRef("data.c.y", null, null, EvalOptions.DEFAULT).value().toJson());
        assertEquals("{\"b\":{\"x\":1}}", p.evalRef("data.a", null, null, EvalOptions.DEFAULT).value().toJson());
    }

    @Test
    void malformedV0IsAPreciseError() {
        RegoException e = assertThrows(RegoException.class, () -> compile("p { \n"));
        assertTrue(e.getMessage().contains("p.rego"), "the error names the file: " + e.getMessage());
        assertThrows(RegoException.class, () -> compile("p[x] = { x := 1 }\n"), "a value is expected after =");
        assertThrows(RegoException.class, () -> compile("default p[x] = 1\n"), "a default rule has no key");
    }

    @Test
    void conflictsNameTheRuleOrFunction() {
        // OPA's policy reference: a complete rule, and a function for given arguments, has at most
        // one value; two definitions that disagree are an eval_conflict_error naming the rule
        RegoException c = assertThrows(RegoException.class, () -> v0("p = 1 { true }\np = 2 { input.n == 3 }\n", "p"));
        assertEquals("eval_conflict_error", c.code());
        assertTrue(c.getMessage().contains("rule data.t.p produced conflicting values"), c.getMessage());
        assertTrue(c.getMessage().contains("complete rules must not produce multiple outputs"), c.getMessage());
        RegoException e = assertThrows(RegoException.class, () -> v0("q { false } else = 1 { true }\nq = 2\n", "q"), "an else branch's value counts too");
        assertTrue(e.getMessage().contains("rule data.t.q produced conflicting values"), e.getMessage());
        RegoException o = assertThrows(RegoException.class, () -> v0("p[\"k\"] = 1\np[\"k\"] = 2\n", "p"), "a constant key is a rule of its own");
        assertTrue(o.getMessage().contains("rule data.t.p.k produced conflicting values"), o.getMessage());
        RegoException f = assertThrows(RegoException.class, () -> v0("f(x) = x { true }\nf(x) = 0 { true }\nq = f(input.n)\n", "q"));
        assertEquals("eval_conflict_error", f.code());
        assertTrue(f.getMessage().contains("function data.t.f produced conflicting values for the same inputs"), f.getMessage());
        RegoException g = assertThrows(RegoException.class, () -> v0("xs = [1, 2]\ng(_) = xs[_]\nq { g(1) }\n", "q"),
                "one definition with two solutions conflicts as well");
        assertTrue(g.getMessage().contains("function data.t.g produced conflicting values"), g.getMessage());
        assertEquals("1", v0("p = 1 { true }\np = 1 { input.n == 3 }\n", "p"), "definitions that agree are no conflict");
    }

    @Test
    void noRuleInsideASetOrCompleteRulesDocument() {
        // v0's two-term `r.s { }` makes r a set ("r contains s"); a rule for r.u.v would put an
        // object where the set is. OPA refuses the pair when compiling instead of dropping one.
        RegoException s = assertThrows(RegoException.class, () -> compile("r.s { true }\nr.u.v { true }\n"));
        assertEquals("rego_type_error", s.code());
        assertTrue(s.getMessage().contains("multi-value rule data.t.r conflicts with [data.t.r.u.v]"), s.getMessage());
        RegoException c = assertThrows(RegoException.class, () -> compile("r = {\"a\": 1}\nr.b = 2\nr.c.d = 3\n"), "a complete rule's value is its whole document");
        assertTrue(c.getMessage().contains("single-value rule data.t.r conflicts with [data.t.r.b data.t.r.c.d]"), c.getMessage());
        assertThrows(RegoException.class, () -> compile("f(x) = x\nf.g = 1\n"), "a function has no paths beneath it");
        assertEquals("{\"a\":1,\"b\":2}", v0("r[k] = 1 { k := \"a\" }\nr.b = 2\n", "r"), "an object rule with a variable key shares its prefix");
    }

    @Test
    void unknownLanguageImportsAreErrors() {
        // OPA's future and rego imports switch language features; an unknown one would leave the
        // module parsed without the switch its author meant
        RegoException kw = assertThrows(RegoException.class, () -> compile("import future.keywords.contain\np { true }\n"));
        assertEquals("rego_parse_error", kw.code());
        assertTrue(kw.getMessage().contains("invalid import `future.keywords.contain`") && kw.getMessage().contains("contains"), kw.getMessage());
        assertThrows(RegoException.class, () -> compile("import future.keyword\np { true }\n"));
        assertThrows(RegoException.class, () -> compile("import future\np { true }\n"));
        RegoException r = assertThrows(RegoException.class, () -> compile("import rego.v2\np { true }\n"));
        assertTrue(r.getMessage().contains("invalid import `rego.v2`, must be `rego.v1`"), r.getMessage());
        assertEquals("true", v0("import future.keywords\nimport future.keywords.in\nimport future.keywords.every\np if { every x in input.xs { x != \"z\" } }\n", "p"),
                "the known imports still parse, repeated or not");
    }

    @Test
    void emptyParenthesesInAHeadDefineADocumentNotAFunction() {
        // OPA's parser drops an empty argument list: f() = 1 is the document f = 1
        assertEquals("1", v0("f() = 1\n", "f"));
        assertEquals("true", v0("f() { input.n == 3 }\n", "f"), "a body without a value gives true");
        assertEquals("undefined", v0("f() { input.n == 4 }\n", "f"));
        Value pkg = compile("f() = 1\np { time.now_ns() == 1 with time.now_ns as f }\n")
                .evalRef("data.t", Json.parse(INPUT), null, EvalOptions.DEFAULT).value();
        assertEquals("{\"f\":1,\"p\":true}", pkg.toJson(), "the package document lists f, and f replaces a built-in as a value");
    }
}
