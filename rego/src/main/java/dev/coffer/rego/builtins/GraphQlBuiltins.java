package dev.coffer.rego.builtins;

import dev.coffer.rego.graphql.Ast.QueryDocument;
import dev.coffer.rego.graphql.Ast.SchemaDocument;
import dev.coffer.rego.graphql.GraphQl;
import dev.coffer.rego.graphql.GraphQlException;
import dev.coffer.rego.graphql.Schema;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

/**
 * OPA's graphql.* built-ins over {@link GraphQl}. Queries and schemas are GraphQL text or the AST
 * objects the parse built-ins return. The parse built-ins raise the first parse or validation
 * error; the is_valid ones answer false instead; parse_and_verify answers [false, {}, {}].
 */
final class GraphQlBuiltins {
    private GraphQlBuiltins() {
    }

    static void register(Builtins.Registry r) {
        r.add("graphql.parse_query", 1, (c, a) -> {
            String q = Args.str("graphql.parse_query", a, 0);
            return Value.fromJava(run("graphql.parse_query", () -> GraphQl.parseQuery(q)).toJson());
        });
        r.add("graphql.parse_schema", 1, (c, a) -> {
            String s = Args.str("graphql.parse_schema", a, 0);
            return Value.fromJava(run("graphql.parse_schema", () -> GraphQl.parseSchema(s)).toJson());
        });
        r.add("graphql.parse", 2, (c, a) -> {
            Parsed p = run("graphql.parse", () -> parseAndValidate("graphql.parse", a));
            return Value.array(Value.fromJava(p.query().toJson()), Value.fromJava(p.schema().toJson()));
        });
        r.add("graphql.parse_and_verify", 2, (c, a) -> {
            try {
                Parsed p = parseAndValidate("graphql.parse_and_verify", a);
                return Value.array(Value.of(true), Value.fromJava(p.query().toJson()), Value.fromJava(p.schema().toJson()));
            } catch (GraphQlException e) {
                return Value.array(Value.of(false), ObjectValue.EMPTY, ObjectValue.EMPTY);
            }
        });
        r.add("graphql.is_valid", 2, (c, a) -> {
            try {
                parseAndValidate("graphql.is_valid", a);
                return Value.of(true);
            } catch (GraphQlException e) {
                return Value.of(false);
            }
        });
        r.add("graphql.schema_is_valid", 1, (c, a) -> {
            try {
                GraphQl.loadSchema(schema("graphql.schema_is_valid", a, 0));
                return Value.of(true);
            } catch (GraphQlException e) {
                return Value.of(false);
            }
        });
    }

    private record Parsed(QueryDocument query, SchemaDocument schema) {
    }

    private static Parsed parseAndValidate(String fn, Value[] a) {
        SchemaDocument sd = schema(fn, a, 1);
        QueryDocument qd = a[0] instanceof StringValue s ? GraphQl.parseQuery(s.value()) : QueryDocument.fromJson(object(fn, a, 0).toJava());
        Schema schema = GraphQl.loadSchema(sd);
        GraphQl.validate(schema, qd);
        return new Parsed(qd, sd);
    }

    private static SchemaDocument schema(String fn, Value[] a, int i) {
        return a[i] instanceof StringValue s ? GraphQl.parseSchema(s.value()) : SchemaDocument.fromJson(object(fn, a, i).toJava());
    }

    private static ObjectValue object(String fn, Value[] a, int i) {
        if (a[i] instanceof ObjectValue o) return o;
        throw Args.typeErr(fn, i, "string or object", a[i]);
    }

    private static <T> T run(String fn, java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (GraphQlException e) {
            throw BuiltinException.builtin(fn, e.describe());
        }
    }
}
