package dev.coffer.rego.builtins;

import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The graphql.* and rego.parse_module built-ins from policies in both syntaxes, with OPA's
 * documented results: parse errors raise (strict) or leave the rule undefined, the is_valid
 * forms answer false, parse_and_verify answers [false, {}, {}].
 */
class GraphQlAndParseModuleTest {
    private static final String DATA = """
            {"schema": "type Query { user(id: ID!): User } type User { id: ID! name: String }",
             "good": "{ user(id: \\"1\\") { name } }", "bad": "{ user { name } }", "broken": "{ user("}""";

    private static Value v0(String rules, String ref, boolean strict) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego", "package t\n" + rules)), Rego.Options.DEFAULT.withSyntax(Rego.Syntax.V0));
        return p.evalRef(ref, Json.parse(DATA), null, EvalOptions.DEFAULT.withStrictBuiltinErrors(strict)).value();
    }

    private static Value v1(String rules, String ref) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego", "package t\n" + rules)));
        return p.evalRef(ref, Json.parse(DATA), null, EvalOptions.DEFAULT.withStrictBuiltinErrors(true)).value();
    }

    @Test
    void v0RulesUseTheGraphQlBuiltIns() {
        assertEquals(Value.of(true), v0("allow { graphql.is_valid(input.good, input.schema) }", "data.t.allow", false));
        assertEquals(null, v0("allow { graphql.is_valid(input.bad, input.schema) }", "data.t.allow", false));
        assertEquals(Value.of(true), v0("deny { not graphql.is_valid(input.broken, input.schema) }", "data.t.deny", false));
        assertEquals(Value.of(true), v0("ok { graphql.schema_is_valid(input.schema) }", "data.t.ok", false));
        assertEquals(Json.parse("[false, {}, {}]"), v0("r = graphql.parse_and_verify(input.bad, input.schema) { true }", "data.t.r", false));
        // a v0 partial set of the selected field names, as Microsoft-style policies build denial sets
        assertEquals(Value.set(List.of(Value.of("user"))), v0("fields[f] { q := graphql.parse_query(input.good); f := q.Operations[_].SelectionSet[_].Name }",
                "data.t.fields", false));
    }

    @Test
    void parseErrorsAreUndefinedUnlessStrict() {
        assertEquals(null, v0("q = graphql.parse_query(input.broken) { true }", "data.t.q", false));
        RegoException e = assertThrows(RegoException.class, () -> v0("q = graphql.parse_query(input.broken) { true }", "data.t.q", true));
        assertEquals("eval_builtin_error", e.code());
        assertTrue(e.getMessage().contains("graphql.parse_query: Expected Name, found <EOF> in GraphQL string at location 1:8"), e.getMessage());
        e = assertThrows(RegoException.class, () -> v1("q := graphql.parse(input.bad, input.schema)", "data.t.q"));
        assertTrue(e.getMessage().contains("graphql.parse: Field \"user\" argument \"id\" of type \"ID!\" is required, but it was not provided"
                + " in GraphQL string at location 1:3"), e.getMessage());
    }

    @Test
    void astObjectsAreAcceptedInPlaceOfText() {
        assertEquals(Value.of(true), v1("ok if graphql.is_valid(graphql.parse_query(input.good), graphql.parse_schema(input.schema))", "data.t.ok"));
        RegoException e = assertThrows(RegoException.class, () -> v1("q := graphql.parse(42, input.schema)", "data.t.q"));
        assertEquals("eval_type_error", e.code());
    }

    @Test
    void parseModuleGivesOpasJsonAst() {
        String rules = """
                m := rego.parse_module("x.rego", "package a.b\\nimport data.c as d\\ndefault allow := false\\nallow if { input.x == 1; not d.y }")
                """;
        Value m = v1(rules, "data.t.m");
        assertEquals(Json.parse("[{\"type\":\"var\",\"value\":\"data\"},{\"type\":\"string\",\"value\":\"a\"},{\"type\":\"string\",\"value\":\"b\"}]"),
                v1(rules + "path := m.package.path", "data.t.path"));
        assertEquals(Value.of("d"), v1(rules + "alias := m.imports[0].alias", "data.t.alias"));
        assertEquals(Value.of(true), v1(rules + "d := m.rules[0].default", "data.t.d"));
        assertEquals(Value.of(true), v1(rules + "neg := m.rules[1].body[1].negated", "data.t.neg"));
        assertEquals(Json.parse("{\"type\":\"ref\",\"value\":[{\"type\":\"var\",\"value\":\"equal\"}]}"),
                v1(rules + "op := m.rules[1].body[0].terms[0]", "data.t.op"));
        assertTrue(m.toJson().contains("\"assign\":true"));
        RegoException e = assertThrows(RegoException.class, () -> v1("m := rego.parse_module(\"x.rego\", \"package a.\")", "data.t.m"));
        assertTrue(e.getMessage().contains("rego_parse_error: unexpected eof token: expected ident"), e.getMessage());
    }
}
