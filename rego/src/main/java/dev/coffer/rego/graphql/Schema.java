package dev.coffer.rego.graphql;

import dev.coffer.rego.graphql.Ast.Definition;
import dev.coffer.rego.graphql.Ast.Directive;
import dev.coffer.rego.graphql.Ast.DirectiveDefinition;
import dev.coffer.rego.graphql.Ast.EnumValueDefinition;
import dev.coffer.rego.graphql.Ast.FieldDefinition;
import dev.coffer.rego.graphql.Ast.OperationTypeDefinition;
import dev.coffer.rego.graphql.Ast.SchemaDefinition;
import dev.coffer.rego.graphql.Ast.SchemaDocument;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A schema loaded from type-system documents and checked as gqlparser's LoadSchema does: the
 * built-in scalars and directives first, then definitions, then extensions merged into them
 * (an extension of a type that does not exist defines it, as federation schemas need), then
 * every type, directive and root operation checked against the spec's type-system rules.
 */
public final class Schema {
    /** The spec's built-in scalars and directives (gqlparser's prelude, introspection types aside). */
    private static final String PRELUDE = """
            scalar Int
            scalar Float
            scalar String
            scalar Boolean
            scalar ID
            directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
            directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
            directive @deprecated(reason: String = "No longer supported") on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE
            directive @specifiedBy(url: String!) on SCALAR
            directive @oneOf on INPUT_OBJECT
            directive @defer(if: Boolean = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT
            """;

    final Map<String, Definition> types = new LinkedHashMap<>();
    final Map<String, DirectiveDefinition> directives = new LinkedHashMap<>();
    final Map<String, String> roots = new LinkedHashMap<>();

    private Schema() {
    }

    /** Loads and validates a schema; the first violation is the exception. */
    public static Schema load(SchemaDocument doc) {
        Schema s = new Schema();
        SchemaDocument prelude = Parser.schema(PRELUDE);
        for (Definition d : prelude.definitions()) s.types.put(d.name(), builtIn(d));
        for (DirectiveDefinition d : prelude.directives()) s.directives.put(d.name(), d);
        s.add(doc);
        s.validate(doc);
        return s;
    }

    private static Definition builtIn(Definition d) {
        return new Definition(d.kind(), d.description(), d.name(), d.directives(), d.interfaces(), d.fields(), d.types(), d.enumValues(),
                true, 0, 0);
    }

    private static GraphQlException error(String msg, int line, int column) {
        return new GraphQlException(msg, line, column);
    }

    private void add(SchemaDocument doc) {
        for (Definition d : doc.definitions()) {
            Definition old = types.get(d.name());
            if (old != null && !old.builtIn()) throw error("Cannot redeclare type " + d.name() + ".", d.line(), d.column());
            types.put(d.name(), d);
        }
        for (DirectiveDefinition d : doc.directives()) {
            DirectiveDefinition old = directives.get(d.name());
            if (old != null && !PRELUDE.contains("directive @" + d.name() + "("))
                throw error("Cannot redeclare directive " + d.name() + ".", d.line(), d.column());
            directives.put(d.name(), d);
        }
        for (Definition ext : doc.extensions()) {
            Definition base = types.get(ext.name());
            if (base == null) {
                types.put(ext.name(), ext);
                continue;
            }
            if (!base.kind().equals(ext.kind())) {
                throw error("Cannot extend type " + ext.name() + " because the base type is a " + base.kind() + ", not " + ext.kind() + ".",
                        ext.line(), ext.column());
            }
            types.put(ext.name(), new Definition(base.kind(), base.description(), base.name(), concat(base.directives(), ext.directives()),
                    concat(base.interfaces(), ext.interfaces()), concat(base.fields(), ext.fields()), concat(base.types(), ext.types()),
                    concat(base.enumValues(), ext.enumValues()), base.builtIn(), base.line(), base.column()));
        }
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        if (b.isEmpty()) return a;
        List<T> out = new ArrayList<>(a);
        out.addAll(b);
        return List.copyOf(out);
    }

    private void validate(SchemaDocument doc) {
        List<SchemaDefinition> schemaDefs = doc.schema();
        if (schemaDefs.size() > 1) throw error("Cannot have multiple schema entry points, consider schema extensions instead.", 0, 0);
        List<SchemaDefinition> all = new ArrayList<>(schemaDefs);
        all.addAll(doc.schemaExtension());
        for (SchemaDefinition sd : all) {
            checkDirectives(sd.directives(), "SCHEMA");
            for (OperationTypeDefinition ot : sd.operationTypes()) {
                Definition t = types.get(ot.type());
                if (t == null) {
                    throw error("Schema root " + ot.operation() + " refers to a type " + ot.type() + " that does not exist.",
                            ot.line(), ot.column());
                }
                if (roots.containsKey(ot.operation())) throw error("Cannot redeclare root " + ot.operation() + ".", ot.line(), ot.column());
                roots.put(ot.operation(), ot.type());
            }
        }
        if (schemaDefs.isEmpty()) {
            for (String op : List.of("query", "mutation", "subscription")) {
                String name = Character.toUpperCase(op.charAt(0)) + op.substring(1);
                if (types.containsKey(name) && !roots.containsKey(op)) roots.put(op, name);
            }
        }
        for (DirectiveDefinition d : directives.values()) {
            checkName(d.name(), d.line(), d.column());
            for (FieldDefinition a : d.arguments()) checkInputValue(a, "ARGUMENT_DEFINITION");
        }
        for (Definition d : types.values()) if (!d.builtIn()) checkType(d);
    }

    private static void checkName(String name, int line, int column) {
        if (name.startsWith("__")) {
            throw error("Name \"" + name + "\" must not begin with \"__\", which is reserved by GraphQL introspection.", line, column);
        }
    }

    private void checkType(Definition d) {
        checkName(d.name(), d.line(), d.column());
        checkDirectives(d.directives(), d.kind());
        switch (d.kind()) {
            case "OBJECT", "INTERFACE" -> {
                if (d.fields().isEmpty()) throw error(d.kind() + " " + d.name() + ": must define one or more fields.", d.line(), d.column());
                for (FieldDefinition f : d.fields()) {
                    checkName(f.name(), f.line(), f.column());
                    Definition t = typeOf(f.type().name(), f.line(), f.column());
                    if (t.kind().equals("INPUT_OBJECT")) {
                        throw error(d.kind() + " " + f.name() + ": field must be an output type.", f.line(), f.column());
                    }
                    for (FieldDefinition a : f.arguments()) checkInputValue(a, "ARGUMENT_DEFINITION");
                    checkDirectives(f.directives(), "FIELD_DEFINITION");
                }
                checkImplements(d);
            }
            case "UNION" -> {
                if (d.types().isEmpty()) throw error("UNION " + d.name() + ": must define one or more member types.", d.line(), d.column());
                for (String m : d.types()) {
                    Definition t = typeOf(m, d.line(), d.column());
                    if (!t.kind().equals("OBJECT")) throw error("UNION type \"" + m + "\" must be OBJECT.", d.line(), d.column());
                }
            }
            case "ENUM" -> {
                if (d.enumValues().isEmpty()) {
                    throw error("ENUM " + d.name() + ": must define one or more unique enum values.", d.line(), d.column());
                }
                Set<String> seen = new HashSet<>();
                for (EnumValueDefinition v : d.enumValues()) {
                    if (Set.of("true", "false", "null").contains(v.name())) {
                        throw error("ENUM " + d.name() + ": non-enum value " + v.name() + ".", v.line(), v.column());
                    }
                    if (!seen.add(v.name())) throw error("ENUM " + d.name() + ": duplicate value " + v.name() + ".", v.line(), v.column());
                    checkDirectives(v.directives(), "ENUM_VALUE");
                }
            }
            case "INPUT_OBJECT" -> {
                if (d.fields().isEmpty()) {
                    throw error("INPUT_OBJECT " + d.name() + ": must define one or more input fields.", d.line(), d.column());
                }
                for (FieldDefinition f : d.fields()) checkInputValue(f, "INPUT_FIELD_DEFINITION");
            }
            default -> {
            }
        }
    }

    private void checkInputValue(FieldDefinition a, String location) {
        checkName(a.name(), a.line(), a.column());
        Definition t = typeOf(a.type().name(), a.line(), a.column());
        if (!isInputKind(t.kind())) {
            throw error("Type " + a.name() + " of kind " + t.kind() + " is not an input type.", a.line(), a.column());
        }
        checkDirectives(a.directives(), location);
    }

    static boolean isInputKind(String kind) {
        return kind.equals("SCALAR") || kind.equals("ENUM") || kind.equals("INPUT_OBJECT");
    }

    private Definition typeOf(String name, int line, int column) {
        Definition t = types.get(name);
        if (t == null) throw error("Undefined type " + name + ".", line, column);
        return t;
    }

    /** The type implements each interface it names, and the interfaces those implement in turn. */
    private void checkImplements(Definition d) {
        for (String i : d.interfaces()) {
            Definition iface = typeOf(i, d.line(), d.column());
            if (!iface.kind().equals("INTERFACE")) throw error(d.name() + " is a non interface type " + i + ".", d.line(), d.column());
            for (FieldDefinition f : iface.fields()) {
                if (d.fields().stream().noneMatch(x -> x.name().equals(f.name()))) {
                    throw error("For " + d.name() + " to implement " + i + " it must have a field called " + f.name() + ".", d.line(), d.column());
                }
            }
            for (String transitive : iface.interfaces()) {
                if (!d.interfaces().contains(transitive)) {
                    throw error(d.kind() + " " + d.name() + " must implement " + transitive + " because it is implemented by " + i + ".",
                            d.line(), d.column());
                }
            }
        }
    }

    /** Each directive is defined, allowed where it stands, and not repeated unless repeatable. */
    void checkDirectives(List<Directive> dirs, String location) {
        Set<String> seen = new HashSet<>();
        for (Directive dir : dirs) {
            DirectiveDefinition def = directives.get(dir.name());
            if (def == null) throw error("Undefined directive " + dir.name() + ".", dir.line(), dir.column());
            if (!def.locations().contains(location)) {
                throw error("Directive " + dir.name() + " is not applicable on " + location + ".", dir.line(), dir.column());
            }
            if (!seen.add(dir.name()) && !def.isRepeatable()) {
                throw error("Directive " + dir.name() + " is not repeatable but has been used multiple times.", dir.line(), dir.column());
            }
        }
    }
}
