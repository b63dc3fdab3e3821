package dev.coffer.rego.graphql;

import dev.coffer.rego.graphql.Ast.QueryDocument;
import dev.coffer.rego.graphql.Ast.SchemaDocument;

/** Parsing and validation of GraphQL queries and schemas, the engine behind OPA's graphql.* built-ins. */
public final class GraphQl {
    private GraphQl() {
    }

    /** An executable document (operations and fragments), not yet validated. */
    public static QueryDocument parseQuery(String text) {
        return Parser.query(text);
    }

    /** A type-system document (types, directives, schema definitions and extensions), not yet validated. */
    public static SchemaDocument parseSchema(String text) {
        return Parser.schema(text);
    }

    /** Throws the first rule the schema breaks. */
    public static Schema loadSchema(SchemaDocument doc) {
        return Schema.load(doc);
    }

    /** Throws the first rule the query breaks against the schema. */
    public static void validate(Schema schema, QueryDocument query) {
        QueryValidator.validate(schema, query);
    }
}
