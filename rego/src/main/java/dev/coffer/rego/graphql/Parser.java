package dev.coffer.rego.graphql;

import dev.coffer.rego.graphql.Ast.Argument;
import dev.coffer.rego.graphql.Ast.ChildValue;
import dev.coffer.rego.graphql.Ast.Definition;
import dev.coffer.rego.graphql.Ast.Directive;
import dev.coffer.rego.graphql.Ast.DirectiveDefinition;
import dev.coffer.rego.graphql.Ast.EnumValueDefinition;
import dev.coffer.rego.graphql.Ast.Field;
import dev.coffer.rego.graphql.Ast.FieldDefinition;
import dev.coffer.rego.graphql.Ast.FragmentDefinition;
import dev.coffer.rego.graphql.Ast.FragmentSpread;
import dev.coffer.rego.graphql.Ast.InlineFragment;
import dev.coffer.rego.graphql.Ast.OperationDefinition;
import dev.coffer.rego.graphql.Ast.OperationTypeDefinition;
import dev.coffer.rego.graphql.Ast.QueryDocument;
import dev.coffer.rego.graphql.Ast.SchemaDefinition;
import dev.coffer.rego.graphql.Ast.SchemaDocument;
import dev.coffer.rego.graphql.Ast.Selection;
import dev.coffer.rego.graphql.Ast.Type;
import dev.coffer.rego.graphql.Ast.Value;
import dev.coffer.rego.graphql.Ast.ValueKind;
import dev.coffer.rego.graphql.Lexer.Kind;
import dev.coffer.rego.graphql.Lexer.Token;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A recursive-descent parser for GraphQL executable and type-system documents (spec §2, §3),
 * structured as gqlparser's so that the first error, its wording and its position are the ones
 * OPA reports.
 */
final class Parser {
    static final Set<String> DIRECTIVE_LOCATIONS = Set.of("QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION",
            "FRAGMENT_SPREAD", "INLINE_FRAGMENT", "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION",
            "ARGUMENT_DEFINITION", "INTERFACE", "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT", "INPUT_FIELD_DEFINITION");

    /** Nesting of selection sets, values and types beyond which a document is refused (the parser recurses). */
    static final int MAX_DEPTH = 500;

    private final List<Token> tokens;
    private int at;
    private Token prev;
    private int depth;

    private Parser(String src) {
        tokens = Lexer.tokens(src);
    }

    static QueryDocument query(String src) {
        return new Parser(src).queryDocument();
    }

    static SchemaDocument schema(String src) {
        return new Parser(src).schemaDocument();
    }

    // ---- token plumbing (gqlparser's peek/next/skip/expect/some/many) ----

    private Token peek() {
        return tokens.get(at);
    }

    private Token next() {
        Token t = tokens.get(at);
        if (t.kind() == Kind.INVALID) throw t.error();
        if (t.kind() != Kind.EOF) at++;
        prev = t;
        return t;
    }

    private boolean skip(Kind k) {
        if (peek().kind() != k) return false;
        next();
        return true;
    }

    private static GraphQlException error(Token t, String msg) {
        return new GraphQlException(msg, t.line(), t.column());
    }

    private Token expect(Kind k) {
        Token t = peek();
        if (t.kind() == k) return next();
        throw error(t, "Expected " + k.text + ", found " + t.kind().text);
    }

    private void expectKeyword(String word) {
        Token t = peek();
        if (t.kind() == Kind.NAME && t.value().equals(word)) {
            next();
            return;
        }
        throw error(t, "Expected " + Lexer.quote(word) + ", found " + t.describe());
    }

    private GraphQlException unexpected(Token t) {
        if (t.kind() == Kind.INVALID) return new GraphQlException("Unexpected " + t.describe(), t.line(), t.column(), t.error().getMessage());
        return error(t, "Unexpected " + t.describe());
    }

    private GraphQlException unexpected() {
        return unexpected(peek());
    }

    /** One or more items between start and end; nothing when start is absent. */
    private void some(Kind start, Kind end, Runnable item) {
        if (peek().kind() != start) return;
        enter();
        try {
            someItems(start, end, item);
        } finally {
            depth--;
        }
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw error(peek(), "Document nested deeper than " + MAX_DEPTH + " levels; flatten the document");
        }
    }

    private void someItems(Kind start, Kind end, Runnable item) {
        if (!skip(start)) return;
        boolean called = false;
        while (peek().kind() != end) {
            called = true;
            item.run();
        }
        if (!called) throw error(peek(), "expected at least one definition, found " + peek().kind().text);
        next();
    }

    /** Zero or more items between start and end; nothing when start is absent. */
    private void many(Kind start, Kind end, Runnable item) {
        if (peek().kind() != start) return;
        enter();
        try {
            skip(start);
            while (peek().kind() != end) item.run();
            next();
        } finally {
            depth--;
        }
    }

    private String name() {
        return expect(Kind.NAME).value();
    }

    // ---- executable documents ----

    private QueryDocument queryDocument() {
        List<OperationDefinition> ops = new ArrayList<>();
        List<FragmentDefinition> frags = new ArrayList<>();
        while (peek().kind() != Kind.EOF) {
            Token t = peek();
            if (t.kind() == Kind.NAME) {
                switch (t.value()) {
                    case "query", "mutation", "subscription" -> ops.add(operationDefinition());
                    case "fragment" -> frags.add(fragmentDefinition());
                    default -> throw unexpected();
                }
            } else if (t.kind() == Kind.BRACE_L) {
                ops.add(operationDefinition());
            } else {
                throw unexpected();
            }
        }
        return new QueryDocument(List.copyOf(ops), List.copyOf(frags));
    }

    private OperationDefinition operationDefinition() {
        Token start = peek();
        if (start.kind() == Kind.BRACE_L) {
            return new OperationDefinition("query", "", List.of(), List.of(), requiredSelectionSet(), start.line(), start.column());
        }
        String op = operationType();
        String name = peek().kind() == Kind.NAME ? next().value() : "";
        List<Ast.VariableDefinition> vars = variableDefinitions();
        List<Directive> dirs = directives(false);
        return new OperationDefinition(op, name, vars, dirs, requiredSelectionSet(), start.line(), start.column());
    }

    private String operationType() {
        Token t = next();
        return switch (t.value()) {
            case "query", "mutation", "subscription" -> t.value();
            default -> throw unexpected(t);
        };
    }

    private List<Ast.VariableDefinition> variableDefinitions() {
        List<Ast.VariableDefinition> defs = new ArrayList<>();
        some(Kind.PAREN_L, Kind.PAREN_R, () -> {
            String var = variable();
            expect(Kind.COLON);
            Type type = typeReference();
            Value def = skip(Kind.EQUALS) ? valueLiteral(true) : null;
            defs.add(new Ast.VariableDefinition(var, type, def, directives(false)));
        });
        return List.copyOf(defs);
    }

    private String variable() {
        expect(Kind.DOLLAR);
        return name();
    }

    private List<Selection> requiredSelectionSet() {
        if (peek().kind() != Kind.BRACE_L) throw error(peek(), "Expected {, found " + peek().kind().text);
        return optionalSelectionSet();
    }

    private List<Selection> optionalSelectionSet() {
        List<Selection> out = new ArrayList<>();
        some(Kind.BRACE_L, Kind.BRACE_R, () -> out.add(selection()));
        return List.copyOf(out);
    }

    private Selection selection() {
        return peek().kind() == Kind.SPREAD ? fragment() : field();
    }

    private Field field() {
        Token start = peek();
        String alias = name();
        String name = skip(Kind.COLON) ? name() : alias;
        List<Argument> args = arguments(false);
        List<Directive> dirs = directives(false);
        List<Selection> sel = peek().kind() == Kind.BRACE_L ? optionalSelectionSet() : List.of();
        return new Field(alias, name, args, dirs, sel, start.line(), start.column());
    }

    private List<Argument> arguments(boolean isConst) {
        List<Argument> out = new ArrayList<>();
        some(Kind.PAREN_L, Kind.PAREN_R, () -> {
            String n = name();
            expect(Kind.COLON);
            out.add(new Argument(n, valueLiteral(isConst)));
        });
        return List.copyOf(out);
    }

    private Selection fragment() {
        expect(Kind.SPREAD);
        Token t = peek();
        if (t.kind() == Kind.NAME && !t.value().equals("on")) {
            return new FragmentSpread(fragmentName(), directives(false), t.line(), t.column());
        }
        String cond = "";
        if (t.value().equals("on")) {
            next();
            cond = name();
        }
        List<Directive> dirs = directives(false);
        return new InlineFragment(cond, dirs, requiredSelectionSet(), t.line(), t.column());
    }

    private FragmentDefinition fragmentDefinition() {
        Token start = peek();
        expectKeyword("fragment");
        String name = fragmentName();
        List<Ast.VariableDefinition> vars = variableDefinitions();
        expectKeyword("on");
        String cond = name();
        List<Directive> dirs = directives(false);
        return new FragmentDefinition(name, vars, cond, dirs, requiredSelectionSet(), start.line(), start.column());
    }

    private String fragmentName() {
        if (peek().value().equals("on")) throw unexpected();
        return name();
    }

    private Value valueLiteral(boolean isConst) {
        Token t = peek();
        ValueKind kind;
        switch (t.kind()) {
            case BRACKET_L -> {
                List<ChildValue> items = new ArrayList<>();
                many(Kind.BRACKET_L, Kind.BRACKET_R, () -> items.add(new ChildValue("", valueLiteral(isConst))));
                return new Value(ValueKind.LIST, "", List.copyOf(items));
            }
            case BRACE_L -> {
                List<ChildValue> fields = new ArrayList<>();
                many(Kind.BRACE_L, Kind.BRACE_R, () -> {
                    String n = name();
                    expect(Kind.COLON);
                    fields.add(new ChildValue(n, valueLiteral(isConst)));
                });
                return new Value(ValueKind.OBJECT, "", List.copyOf(fields));
            }
            case DOLLAR -> {
                if (isConst) throw unexpected();
                return new Value(ValueKind.VARIABLE, variable(), List.of());
            }
            case INT -> kind = ValueKind.INT;
            case FLOAT -> kind = ValueKind.FLOAT;
            case STRING -> kind = ValueKind.STRING;
            case BLOCK_STRING -> kind = ValueKind.BLOCK;
            case NAME -> kind = switch (t.value()) {
                case "true", "false" -> ValueKind.BOOLEAN;
                case "null" -> ValueKind.NULL;
                default -> ValueKind.ENUM;
            };
            default -> throw unexpected();
        }
        next();
        return new Value(kind, t.value(), List.of());
    }

    private Type typeReference() {
        Type t;
        if (peek().kind() == Kind.BRACKET_L) {
            enter();
            skip(Kind.BRACKET_L);
            Type elem = typeReference();
            expect(Kind.BRACKET_R);
            depth--;
            t = new Type("", elem, false);
        } else {
            t = new Type(name(), null, false);
        }
        return skip(Kind.BANG) ? new Type(t.namedType(), t.elem(), true) : t;
    }

    private List<Directive> directives(boolean isConst) {
        List<Directive> out = new ArrayList<>();
        while (peek().kind() == Kind.AT) {
            Token t = next();
            String n = name();
            out.add(new Directive(n, arguments(isConst), t.line(), t.column()));
        }
        return List.copyOf(out);
    }

    // ---- type-system documents ----

    private SchemaDocument schemaDocument() {
        List<SchemaDefinition> schema = new ArrayList<>();
        List<SchemaDefinition> schemaExt = new ArrayList<>();
        List<DirectiveDefinition> directives = new ArrayList<>();
        List<Definition> defs = new ArrayList<>();
        List<Definition> exts = new ArrayList<>();
        while (peek().kind() != Kind.EOF) {
            String description = description();
            if (peek().kind() != Kind.NAME) throw unexpected();
            switch (peek().value()) {
                case "scalar", "type", "interface", "union", "enum", "input" -> defs.add(typeDefinition(description));
                case "schema" -> {
                    expectKeyword("schema");
                    List<Directive> dirs = directives(true);
                    schema.add(new SchemaDefinition(description, dirs, operationTypes()));
                }
                case "directive" -> directives.add(directiveDefinition(description));
                case "extend" -> {
                    if (!description.isEmpty()) throw unexpected(prev);
                    extension(schemaExt, exts);
                }
                default -> throw unexpected();
            }
        }
        return new SchemaDocument(List.copyOf(schema), List.copyOf(schemaExt), List.copyOf(directives), List.copyOf(defs), List.copyOf(exts));
    }

    private String description() {
        Kind k = peek().kind();
        return k == Kind.STRING || k == Kind.BLOCK_STRING ? next().value() : "";
    }

    private List<OperationTypeDefinition> operationTypes() {
        List<OperationTypeDefinition> out = new ArrayList<>();
        some(Kind.BRACE_L, Kind.BRACE_R, () -> {
            Token t = peek();
            String op = operationType();
            expect(Kind.COLON);
            out.add(new OperationTypeDefinition(op, name(), t.line(), t.column()));
        });
        return List.copyOf(out);
    }

    private Definition typeDefinition(String description) {
        Token start = peek();
        String word = next().value();
        String name = name();
        return switch (word) {
            case "scalar" -> def("SCALAR", description, name, directives(true), List.of(), List.of(), List.of(), List.of(), start);
            case "type", "interface" -> {
                List<String> ifaces = implementsInterfaces();
                List<Directive> dirs = directives(true);
                yield def(word.equals("type") ? "OBJECT" : "INTERFACE", description, name, dirs, ifaces, fieldsDefinition(), List.of(), List.of(), start);
            }
            case "union" -> {
                List<Directive> dirs = directives(true);
                yield def("UNION", description, name, dirs, List.of(), List.of(), unionMembers(), List.of(), start);
            }
            case "enum" -> {
                List<Directive> dirs = directives(true);
                yield def("ENUM", description, name, dirs, List.of(), List.of(), List.of(), enumValues(), start);
            }
            default -> {
                List<Directive> dirs = directives(true);
                yield def("INPUT_OBJECT", description, name, dirs, List.of(), inputFields(), List.of(), List.of(), start);
            }
        };
    }

    private static Definition def(String kind, String description, String name, List<Directive> dirs, List<String> ifaces,
                                  List<FieldDefinition> fields, List<String> types, List<EnumValueDefinition> values, Token at) {
        return new Definition(kind, description, name, dirs, ifaces, fields, types, values, false, at.line(), at.column());
    }

    private void extension(List<SchemaDefinition> schemaExt, List<Definition> exts) {
        expectKeyword("extend");
        Token start = peek();
        switch (start.value()) {
            case "schema" -> {
                next();
                List<Directive> dirs = directives(true);
                List<OperationTypeDefinition> ops = operationTypes();
                if (dirs.isEmpty() && ops.isEmpty()) throw unexpected();
                schemaExt.add(new SchemaDefinition("", dirs, ops));
            }
            case "scalar", "type", "interface", "union", "enum", "input" -> {
                Definition d = typeDefinitionBody(start);
                exts.add(d);
            }
            default -> throw unexpected();
        }
    }

    /** An extension's body: as the definition, but at least one part must be present. */
    private Definition typeDefinitionBody(Token start) {
        Definition d = typeDefinition("");
        boolean empty = d.directives().isEmpty() && d.interfaces().isEmpty() && d.fields().isEmpty() && d.types().isEmpty()
                && d.enumValues().isEmpty();
        if (empty) throw unexpected();
        return new Definition(d.kind(), "", d.name(), d.directives(), d.interfaces(), d.fields(), d.types(), d.enumValues(), false,
                start.line(), start.column());
    }

    private List<String> implementsInterfaces() {
        List<String> out = new ArrayList<>();
        if (peek().value().equals("implements")) {
            next();
            skip(Kind.AMP);
            out.add(name());
            while (skip(Kind.AMP)) out.add(name());
        }
        return List.copyOf(out);
    }

    private List<String> unionMembers() {
        List<String> out = new ArrayList<>();
        if (skip(Kind.EQUALS)) {
            skip(Kind.PIPE);
            out.add(name());
            while (skip(Kind.PIPE)) out.add(name());
        }
        return List.copyOf(out);
    }

    private List<FieldDefinition> fieldsDefinition() {
        List<FieldDefinition> out = new ArrayList<>();
        some(Kind.BRACE_L, Kind.BRACE_R, () -> {
            String description = description();
            Token t = peek();
            String name = name();
            List<FieldDefinition> args = argumentDefinitions();
            expect(Kind.COLON);
            Type type = typeReference();
            out.add(new FieldDefinition(description, name, args, null, type, directives(true), t.line(), t.column()));
        });
        return List.copyOf(out);
    }

    private List<FieldDefinition> argumentDefinitions() {
        List<FieldDefinition> out = new ArrayList<>();
        some(Kind.PAREN_L, Kind.PAREN_R, () -> out.add(inputValueDefinition()));
        return List.copyOf(out);
    }

    private FieldDefinition inputValueDefinition() {
        String description = description();
        Token t = peek();
        String name = name();
        expect(Kind.COLON);
        Type type = typeReference();
        Value def = skip(Kind.EQUALS) ? valueLiteral(true) : null;
        return new FieldDefinition(description, name, List.of(), def, type, directives(true), t.line(), t.column());
    }

    private List<FieldDefinition> inputFields() {
        List<FieldDefinition> out = new ArrayList<>();
        some(Kind.BRACE_L, Kind.BRACE_R, () -> out.add(inputValueDefinition()));
        return List.copyOf(out);
    }

    private List<EnumValueDefinition> enumValues() {
        List<EnumValueDefinition> out = new ArrayList<>();
        some(Kind.BRACE_L, Kind.BRACE_R, () -> {
            String description = description();
            Token t = peek();
            String name = name();
            out.add(new EnumValueDefinition(description, name, directives(true), t.line(), t.column()));
        });
        return List.copyOf(out);
    }

    private DirectiveDefinition directiveDefinition(String description) {
        Token start = peek();
        expectKeyword("directive");
        expect(Kind.AT);
        String name = name();
        List<FieldDefinition> args = argumentDefinitions();
        boolean repeatable = false;
        if (peek().kind() == Kind.NAME && peek().value().equals("repeatable")) {
            repeatable = true;
            next();
        }
        expectKeyword("on");
        List<String> locations = new ArrayList<>();
        skip(Kind.PIPE);
        locations.add(directiveLocation());
        while (skip(Kind.PIPE)) locations.add(directiveLocation());
        return new DirectiveDefinition(description, name, args, List.copyOf(locations), repeatable, start.line(), start.column());
    }

    private String directiveLocation() {
        Token t = expect(Kind.NAME);
        if (DIRECTIVE_LOCATIONS.contains(t.value())) return t.value();
        throw unexpected(t);
    }
}
