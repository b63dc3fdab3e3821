package dev.coffer.rego.graphql;

import dev.coffer.rego.graphql.Ast.Argument;
import dev.coffer.rego.graphql.Ast.ChildValue;
import dev.coffer.rego.graphql.Ast.Definition;
import dev.coffer.rego.graphql.Ast.Directive;
import dev.coffer.rego.graphql.Ast.Field;
import dev.coffer.rego.graphql.Ast.FieldDefinition;
import dev.coffer.rego.graphql.Ast.FragmentDefinition;
import dev.coffer.rego.graphql.Ast.FragmentSpread;
import dev.coffer.rego.graphql.Ast.InlineFragment;
import dev.coffer.rego.graphql.Ast.OperationDefinition;
import dev.coffer.rego.graphql.Ast.QueryDocument;
import dev.coffer.rego.graphql.Ast.Selection;
import dev.coffer.rego.graphql.Ast.Value;
import dev.coffer.rego.graphql.Ast.ValueKind;
import dev.coffer.rego.graphql.Ast.VariableDefinition;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The spec's executable-document validation (§5) against a loaded schema, with gqlparser's
 * messages: operations (lone anonymous, unique names, known root), fields on their type,
 * arguments known and required ones given, leaf fields without and composite fields with a
 * selection, known types, fragments and directives, variables defined and used.
 */
final class QueryValidator {
    private final Schema schema;
    private final QueryDocument doc;
    private final Map<String, FragmentDefinition> fragments = new HashMap<>();
    private final Set<String> usedFragments = new HashSet<>();
    private final Map<String, Set<String>> fragmentVariables = new HashMap<>();

    private QueryValidator(Schema schema, QueryDocument doc) {
        this.schema = schema;
        this.doc = doc;
    }

    static void validate(Schema schema, QueryDocument doc) {
        new QueryValidator(schema, doc).run();
    }

    private static GraphQlException error(String msg, int line, int column) {
        return new GraphQlException(msg, line, column);
    }

    private void run() {
        for (FragmentDefinition f : doc.fragments()) {
            if (fragments.put(f.name(), f) != null) {
                throw error("There can be only one fragment named \"" + f.name() + "\".", f.line(), f.column());
            }
        }
        Set<String> opNames = new HashSet<>();
        for (OperationDefinition op : doc.operations()) {
            if (op.name().isEmpty() && doc.operations().size() > 1) {
                throw error("This anonymous operation must be the only defined operation.", op.line(), op.column());
            }
            if (!op.name().isEmpty() && !opNames.add(op.name())) {
                throw error("There can be only one operation named \"" + op.name() + "\".", op.line(), op.column());
            }
            String root = schema.roots.get(op.operation());
            if (root == null) throw error("Schema does not support operation type \"" + op.operation() + "\"", op.line(), op.column());
            Set<String> defined = new HashSet<>();
            for (VariableDefinition v : op.variableDefinitions()) {
                if (!defined.add(v.variable())) throw error("There can be only one variable named \"$" + v.variable() + "\".", op.line(), op.column());
                Definition t = schema.types.get(v.type().name());
                if (t == null) throw error("Unknown type \"" + v.type().name() + "\".", op.line(), op.column());
                if (!Schema.isInputKind(t.kind())) {
                    throw error("Variable \"$" + v.variable() + "\" cannot be non-input type \"" + v.type() + "\".", op.line(), op.column());
                }
                directives(v.directives(), "VARIABLE_DEFINITION", null);
            }
            directives(op.directives(), op.operation().toUpperCase(), null);
            Set<String> used = new LinkedHashSet<>();
            selections(op.selectionSet(), schema.types.get(root), used, new HashSet<>());
            for (String u : used) {
                if (!defined.contains(u)) {
                    throw error("Variable \"$" + u + "\" is not defined" + (op.name().isEmpty() ? "." : " by operation \"" + op.name() + "\"."),
                            op.line(), op.column());
                }
            }
            for (VariableDefinition v : op.variableDefinitions()) {
                if (!used.contains(v.variable())) throw error("Variable \"$" + v.variable() + "\" is never used.", op.line(), op.column());
            }
        }
        for (FragmentDefinition f : doc.fragments()) {
            if (!usedFragments.contains(f.name())) throw error("Fragment \"" + f.name() + "\" is never used.", f.line(), f.column());
        }
    }

    private void selections(List<Selection> set, Definition parent, Set<String> vars, Set<String> visiting) {
        for (Selection s : set) {
            switch (s) {
                case Field f -> field(f, parent, vars, visiting);
                case InlineFragment i -> {
                    Definition t = parent;
                    if (!i.typeCondition().isEmpty()) {
                        t = schema.types.get(i.typeCondition());
                        if (t == null) throw error("Unknown type \"" + i.typeCondition() + "\".", i.line(), i.column());
                    }
                    directives(i.directives(), "INLINE_FRAGMENT", vars);
                    selections(i.selectionSet(), t, vars, visiting);
                }
                case FragmentSpread sp -> {
                    FragmentDefinition def = fragments.get(sp.name());
                    if (def == null) throw error("Unknown fragment \"" + sp.name() + "\".", sp.line(), sp.column());
                    usedFragments.add(sp.name());
                    directives(sp.directives(), "FRAGMENT_SPREAD", vars);
                    if (!visiting.add(sp.name())) {
                        throw error("Cannot spread fragment \"" + sp.name() + "\" within itself.", sp.line(), sp.column());
                    }
                    Set<String> fragVars = fragmentVariables.get(sp.name());
                    if (fragVars == null) {
                        // a fragment's body is checked once: spreading it again adds its variables, not its cost
                        Definition t = schema.types.get(def.typeCondition());
                        if (t == null) throw error("Unknown type \"" + def.typeCondition() + "\".", def.line(), def.column());
                        fragVars = new LinkedHashSet<>();
                        directives(def.directives(), "FRAGMENT_DEFINITION", fragVars);
                        selections(def.selectionSet(), t, fragVars, visiting);
                        fragmentVariables.put(sp.name(), fragVars);
                    }
                    vars.addAll(fragVars);
                    visiting.remove(sp.name());
                }
            }
        }
    }

    private void field(Field f, Definition parent, Set<String> vars, Set<String> visiting) {
        for (Argument a : f.arguments()) variables(a.value(), vars);
        directives(f.directives(), "FIELD", vars);
        if (f.name().equals("__typename")) return;
        FieldDefinition def = parent.fields().stream().filter(x -> x.name().equals(f.name())).findFirst().orElse(null);
        if (def == null) throw error("Cannot query field \"" + f.name() + "\" on type \"" + parent.name() + "\".", f.line(), f.column());
        arguments(f.arguments(), def.arguments(), "Field \"" + f.name() + "\"", "field \"" + parent.name() + "." + f.name() + "\"",
                f.line(), f.column());
        Definition type = schema.types.get(def.type().name());
        if (type == null) throw error("Undefined type " + def.type().name() + ".", f.line(), f.column());
        boolean leaf = type.kind().equals("SCALAR") || type.kind().equals("ENUM");
        if (leaf && !f.selectionSet().isEmpty()) {
            throw error("Field \"" + f.name() + "\" must not have a selection since type \"" + def.type().name() + "\" has no subfields.",
                    f.line(), f.column());
        }
        if (!leaf && f.selectionSet().isEmpty()) {
            throw error("Field \"" + f.name() + "\" of type \"" + def.type() + "\" must have a selection of subfields. Did you mean \""
                    + f.name() + " { ... }\"?", f.line(), f.column());
        }
        selections(f.selectionSet(), type, vars, visiting);
    }

    private void arguments(List<Argument> given, List<FieldDefinition> defs, String owner, String unknownOwner, int line, int column) {
        Set<String> seen = new HashSet<>();
        for (Argument a : given) {
            if (!seen.add(a.name())) throw error("There can be only one argument named \"" + a.name() + "\".", line, column);
            if (defs.stream().noneMatch(d -> d.name().equals(a.name()))) {
                throw error("Unknown argument \"" + a.name() + "\" on " + unknownOwner + ".", line, column);
            }
        }
        for (FieldDefinition d : defs) {
            if (d.type().nonNull() && d.defaultValue() == null) {
                Argument a = given.stream().filter(x -> x.name().equals(d.name())).findFirst().orElse(null);
                if (a == null || a.value().kind() == ValueKind.NULL) {
                    throw error(owner + " argument \"" + d.name() + "\" of type \"" + d.type() + "\" is required, but it was not provided.",
                            line, column);
                }
            }
        }
    }

    private void directives(List<Directive> dirs, String location, Set<String> vars) {
        Set<String> seen = new HashSet<>();
        for (Directive d : dirs) {
            var def = schema.directives.get(d.name());
            if (def == null) throw error("Unknown directive \"@" + d.name() + "\".", d.line(), d.column());
            if (!def.locations().contains(location)) {
                throw error("Directive \"@" + d.name() + "\" may not be used on " + location + ".", d.line(), d.column());
            }
            if (!seen.add(d.name()) && !def.isRepeatable()) {
                throw error("The directive \"@" + d.name() + "\" can only be used once at this location.", d.line(), d.column());
            }
            arguments(d.arguments(), def.arguments(), "Directive \"@" + d.name() + "\"", "directive \"@" + d.name() + "\"", d.line(), d.column());
            if (vars != null) for (Argument a : d.arguments()) variables(a.value(), vars);
        }
    }

    private static void variables(Value v, Set<String> out) {
        if (v == null) return;
        if (v.kind() == ValueKind.VARIABLE) out.add(v.raw());
        for (ChildValue c : v.children()) variables(c.value(), out);
    }
}
