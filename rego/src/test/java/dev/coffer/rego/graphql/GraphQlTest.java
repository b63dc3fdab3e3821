package dev.coffer.rego.graphql;

import dev.coffer.rego.graphql.Ast.QueryDocument;
import dev.coffer.rego.graphql.Ast.SchemaDocument;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GraphQL parser and validators on their own: the AST shape gqlparser gives (and OPA returns),
 * the first error with its position, the spec's schema and query rules, and hostile documents.
 */
class GraphQlTest {
    static final String SCHEMA = """
            interface Node { id: ID! }
            type User implements Node { id: ID! name: String friends(first: Int = 10): [User!]! }
            type Query { user(id: ID!): User  search(text: String): [Node] }
            type Mutation { rename(id: ID!, name: String!): User }
            enum Role { ADMIN READER }
            input Filter { role: Role, name: String }
            """;

    private static Schema schema() {
        return GraphQl.loadSchema(GraphQl.parseSchema(SCHEMA));
    }

    private static GraphQlException queryError(String q) {
        return assertThrows(GraphQlException.class, () -> GraphQl.validate(schema(), GraphQl.parseQuery(q)));
    }

    @Test
    void queryAstHasGqlparserShape() {
        QueryDocument d = GraphQl.parseQuery("query Q($id: ID! = \"u1\") { me: user(id: $id) { name ...F } } fragment F on User { id }");
        Map<String, Object> op = cast(((List<?>) d.toJson().get("Operations")).getFirst());
        assertEquals("query", op.get("Operation"));
        assertEquals("Q", op.get("Name"));
        Map<String, Object> field = cast(((List<?>) op.get("SelectionSet")).getFirst());
        assertEquals("me", field.get("Alias"));
        assertEquals("user", field.get("Name"));
        Map<String, Object> arg = cast(((List<?>) field.get("Arguments")).getFirst());
        assertEquals(Map.of("Raw", "id", "Kind", 0, "ExpectedTypeHasDefault", false), arg.get("Value"));
        Map<String, Object> var = cast(((List<?>) op.get("VariableDefinitions")).getFirst());
        assertEquals(Map.of("NamedType", "ID", "NonNull", true), var.get("Type"));
        assertEquals(3, cast(var.get("DefaultValue")).get("Kind"), "a string default is Kind 3");
        assertEquals(List.of(Map.of("Name", "F")), ((List<?>) field.get("SelectionSet")).subList(1, 2));
        assertEquals("User", cast(((List<?>) d.toJson().get("Fragments")).getFirst()).get("TypeCondition"));
    }

    @Test
    void astObjectsReadBackToTheSameJson() {
        QueryDocument q = GraphQl.parseQuery("{ search(text: \"a\") { __typename ... on User { name friends(first: 2) { id } } } }");
        assertEquals(q.toJson(), QueryDocument.fromJson(q.toJson()).toJson());
        SchemaDocument s = GraphQl.parseSchema(SCHEMA + "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT\nschema { query: Query }");
        assertEquals(s.toJson(), SchemaDocument.fromJson(s.toJson()).toJson());
    }

    @Test
    void malformedAstObjectsSayWhichFieldIsWrong() {
        GraphQlException e = assertThrows(GraphQlException.class, () -> SchemaDocument.fromJson(Map.of("Definitions", "nope")));
        assertEquals("AST field list must be an array, found String", e.getMessage());
        e = assertThrows(GraphQlException.class, () -> QueryDocument.fromJson(Map.of("Operations", List.of(Map.of("Name", 7)))));
        assertTrue(e.getMessage().contains("Name must be a string"), e.getMessage());
    }

    @Test
    void parseErrorsNameWhatWasExpectedAndWhere() {
        GraphQlException e = assertThrows(GraphQlException.class, () -> GraphQl.parseQuery("{ user(id: ) { name } }"));
        assertEquals("Unexpected ) in GraphQL string at location 1:12", e.describe());
        e = assertThrows(GraphQlException.class, () -> GraphQl.parseQuery("{\n  a\n  b(\n"));
        assertEquals("Expected Name, found <EOF> in GraphQL string at location 4:1", e.describe());
        e = assertThrows(GraphQlException.class, () -> GraphQl.parseQuery("{ a(s: \"unterminated) }"));
        // gqlparser's (and OPA's) message, with the lexical error added
        assertEquals("Unexpected <Invalid> in GraphQL string at location 1:24 (Unterminated string.)", e.describe());
        e = assertThrows(GraphQlException.class, () -> GraphQl.parseSchema("type T { f: Int } garbage"));
        assertEquals("Unexpected Name \"garbage\" in GraphQL string at location 1:19", e.describe());
    }

    @Test
    void blockStringsLoseCommonIndentation() {
        QueryDocument d = GraphQl.parseQuery("{ f(s: \"\"\"\n    first\n      second\n    \"\"\") }");
        Map<String, Object> op = cast(((List<?>) d.toJson().get("Operations")).getFirst());
        Map<String, Object> f = cast(((List<?>) op.get("SelectionSet")).getFirst());
        Map<String, Object> arg = cast(((List<?>) f.get("Arguments")).getFirst());
        assertEquals("first\n  second", cast(arg.get("Value")).get("Raw"));
        assertEquals(4, cast(arg.get("Value")).get("Kind"));
    }

    @Test
    void deeplyNestedDocumentsAreRefusedNotOverflowed() {
        String deep = "{ f(a: " + "[".repeat(100_000) + " ) }";
        GraphQlException e = assertThrows(GraphQlException.class, () -> GraphQl.parseQuery(deep));
        assertTrue(e.getMessage().startsWith("Document nested deeper than " + Parser.MAX_DEPTH), e.getMessage());
        String deepSel = "{" + " a {".repeat(10_000) + " b" + " }".repeat(10_001);
        assertThrows(GraphQlException.class, () -> GraphQl.parseQuery(deepSel));
    }

    @Test
    void fragmentsSpreadManyTimesAreCheckedOnce() {
        // 40 levels, each spreading the next twice: 2^40 paths if every spread were walked again
        StringBuilder q = new StringBuilder("query Q($n: String) { user(id: \"1\") { ...F0 } }\n");
        for (int i = 0; i < 40; i++) q.append("fragment F").append(i).append(" on User { friends { ...F").append(i + 1).append(" ...F").append(i + 1).append(" } }\n");
        q.append("fragment F40 on User { name @include(if: true) friends(first: 1) { id } search: name }\n");
        GraphQlException e = assertThrows(GraphQlException.class, () -> GraphQl.validate(schema(), GraphQl.parseQuery(q.toString())));
        assertEquals("Variable \"$n\" is never used.", e.getMessage());
    }

    @Test
    void schemaRulesOfTheTypeSystem() {
        assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("type Q { f: Missing }")));
        GraphQlException e = assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("type Q { f: Missing }")));
        assertEquals("Undefined type Missing.", e.getMessage());
        e = assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("interface I { id: ID }\ntype T implements I { name: String }")));
        assertEquals("For T to implement I it must have a field called id.", e.getMessage());
        e = assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("type O { a: Int }\ninput In { o: O }")));
        assertTrue(e.getMessage().contains("is not an input type"), e.getMessage());
        e = assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("type T { a: Int }\ntype T { b: Int }")));
        assertEquals("Cannot redeclare type T.", e.getMessage());
        e = assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("scalar S\nextend type S @deprecated")));
        assertEquals("Cannot extend type S because the base type is a SCALAR, not OBJECT.", e.getMessage());
        e = assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("type T { a: Int @skip(if: true) }")));
        assertEquals("Directive skip is not applicable on FIELD_DEFINITION.", e.getMessage());
        e = assertThrows(GraphQlException.class, () -> GraphQl.loadSchema(GraphQl.parseSchema("type T { __a: Int }")));
        assertTrue(e.getMessage().contains("reserved by GraphQL introspection"), e.getMessage());
        GraphQl.loadSchema(GraphQl.parseSchema(SCHEMA));
    }

    @Test
    void queryRulesOfTheSpec() {
        GraphQl.validate(schema(), GraphQl.parseQuery("query($id: ID!, $f: Int) { user(id: $id) { name friends(first: $f) { id } } search { id } }"));
        assertEquals("Cannot query field \"nope\" on type \"User\".", queryError("{ user(id: 1) { nope } }").getMessage());
        GraphQlException e = queryError("{ user { name } }");
        assertEquals("Field \"user\" argument \"id\" of type \"ID!\" is required, but it was not provided.", e.getMessage());
        assertEquals(1, e.line());
        assertEquals(3, e.column());
        assertEquals("Unknown argument \"x\" on field \"Query.user\".", queryError("{ user(id: 1, x: 2) { name } }").getMessage());
        assertEquals("Variable \"$v\" is never used.", queryError("query($v: Int) { user(id: 1) { name } }").getMessage());
        assertEquals("Variable \"$v\" is not defined.", queryError("{ user(id: $v) { name } }").getMessage());
        assertEquals("Unknown fragment \"G\".", queryError("{ user(id: 1) { ...G } }").getMessage());
        assertEquals("Fragment \"G\" is never used.", queryError("{ user(id: 1) { id } } fragment G on User { id }").getMessage());
        assertEquals("Cannot spread fragment \"G\" within itself.",
                queryError("{ user(id: 1) { ...G } } fragment G on User { friends { ...G } }").getMessage());
        assertTrue(queryError("{ user(id: 1) }").getMessage().contains("must have a selection of subfields"));
        assertTrue(queryError("{ user(id: 1) { name { x } } }").getMessage().contains("must not have a selection"));
        assertEquals("This anonymous operation must be the only defined operation.", queryError("{ user(id: 1) { id } } query A { search { id } }").getMessage());
        assertEquals("Schema does not support operation type \"subscription\"", queryError("subscription { user(id: 1) { id } }").getMessage());
        assertEquals("Unknown directive \"@nope\".", queryError("{ user(id: 1) @nope { id } }").getMessage());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Object o) {
        return (Map<String, Object>) o;
    }
}
