package dev.coffer.rego.graphql;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * GraphQL documents as gqlparser (and so OPA) represents them. {@code toJson} gives the JSON
 * shape OPA's built-ins return (gqlparser's Go field names, empty lists and absent values left
 * out, positions omitted); {@code fromJson} reads that shape back, for built-ins that accept an
 * AST object in place of text.
 */
public final class Ast {
    private Ast() {
    }

    /** ValueKind in gqlparser's numbering, which the JSON carries as "Kind". */
    public enum ValueKind { VARIABLE, INT, FLOAT, STRING, BLOCK, BOOLEAN, NULL, ENUM, LIST, OBJECT }

    public record Type(String namedType, Type elem, boolean nonNull) {
        /** The type as GraphQL writes it: "Locale!", "[String]". */
        @Override
        public String toString() {
            return (elem != null ? "[" + elem + "]" : namedType) + (nonNull ? "!" : "");
        }

        /** The named type at the bottom of any list wrappers. */
        public String name() {
            return elem != null ? elem.name() : namedType;
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("NamedType", namedType);
            if (elem != null) m.put("Elem", elem.toJson());
            m.put("NonNull", nonNull);
            return m;
        }

        static Type fromJson(Object o) {
            Map<?, ?> m = map(o, "Type");
            return new Type(str(m, "NamedType"), m.get("Elem") == null ? null : fromJson(m.get("Elem")), bool(m, "NonNull"));
        }
    }

    public record Value(ValueKind kind, String raw, List<ChildValue> children) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Raw", raw);
            if (!children.isEmpty()) m.put("Children", list(children, ChildValue::toJson));
            m.put("Kind", kind.ordinal());
            m.put("ExpectedTypeHasDefault", false);
            return m;
        }

        static Value fromJson(Object o) {
            if (o == null) return null;
            Map<?, ?> m = map(o, "Value");
            int k = m.get("Kind") instanceof Number n ? n.intValue() : -1;
            if (k < 0 || k >= ValueKind.values().length) throw shape("Value.Kind", "an integer 0-9", m.get("Kind"));
            return new Value(ValueKind.values()[k], str(m, "Raw"), fromList(m.get("Children"), ChildValue::fromJson));
        }
    }

    public record ChildValue(String name, Value value) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Name", name);
            m.put("Value", value.toJson());
            return m;
        }

        static ChildValue fromJson(Object o) {
            Map<?, ?> m = map(o, "ChildValue");
            return new ChildValue(str(m, "Name"), Value.fromJson(m.get("Value")));
        }
    }

    public record Argument(String name, Value value) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Name", name);
            m.put("Value", value.toJson());
            return m;
        }

        static Argument fromJson(Object o) {
            Map<?, ?> m = map(o, "Argument");
            return new Argument(str(m, "Name"), Value.fromJson(m.get("Value")));
        }
    }

    /** A directive where it is used; gqlparser fills Location only while validating. */
    public record Directive(String name, List<Argument> arguments, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Name", name);
            if (!arguments.isEmpty()) m.put("Arguments", list(arguments, Argument::toJson));
            m.put("Location", "");
            return m;
        }

        static Directive fromJson(Object o) {
            Map<?, ?> m = map(o, "Directive");
            return new Directive(str(m, "Name"), fromList(m.get("Arguments"), Argument::fromJson), 0, 0);
        }
    }

    public record VariableDefinition(String variable, Type type, Value defaultValue, List<Directive> directives) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Variable", variable);
            m.put("Type", type.toJson());
            if (defaultValue != null) m.put("DefaultValue", defaultValue.toJson());
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            m.put("Used", false);
            return m;
        }

        static VariableDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "VariableDefinition");
            return new VariableDefinition(str(m, "Variable"), Type.fromJson(m.get("Type")), Value.fromJson(m.get("DefaultValue")),
                    fromList(m.get("Directives"), Directive::fromJson));
        }
    }

    public sealed interface Selection permits Field, FragmentSpread, InlineFragment {
        Map<String, Object> toJson();

        /** Which selection a JSON object is, by the fields only that kind has (gqlparser's JSON carries no tag). */
        static Selection fromJson(Object o) {
            Map<?, ?> m = map(o, "Selection");
            List<Directive> dirs = fromList(m.get("Directives"), Directive::fromJson);
            List<Selection> sel = fromList(m.get("SelectionSet"), Selection::fromJson);
            if (m.containsKey("Alias")) {
                return new Field(str(m, "Alias"), str(m, "Name"), fromList(m.get("Arguments"), Argument::fromJson), dirs, sel, 0, 0);
            }
            if (m.containsKey("TypeCondition") || m.containsKey("SelectionSet")) return new InlineFragment(str(m, "TypeCondition"), dirs, sel, 0, 0);
            return new FragmentSpread(str(m, "Name"), dirs, 0, 0);
        }
    }

    public record Field(String alias, String name, List<Argument> arguments, List<Directive> directives,
                        List<Selection> selectionSet, int line, int column) implements Selection {
        @Override
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Alias", alias);
            m.put("Name", name);
            if (!arguments.isEmpty()) m.put("Arguments", list(arguments, Argument::toJson));
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            if (!selectionSet.isEmpty()) m.put("SelectionSet", list(selectionSet, Selection::toJson));
            return m;
        }
    }

    public record FragmentSpread(String name, List<Directive> directives, int line, int column) implements Selection {
        @Override
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Name", name);
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            return m;
        }
    }

    public record InlineFragment(String typeCondition, List<Directive> directives, List<Selection> selectionSet, int line,
                                 int column) implements Selection {
        @Override
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("TypeCondition", typeCondition);
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            if (!selectionSet.isEmpty()) m.put("SelectionSet", list(selectionSet, Selection::toJson));
            return m;
        }
    }

    public record OperationDefinition(String operation, String name, List<VariableDefinition> variableDefinitions,
                                      List<Directive> directives, List<Selection> selectionSet, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Operation", operation);
            m.put("Name", name);
            if (!variableDefinitions.isEmpty()) m.put("VariableDefinitions", list(variableDefinitions, VariableDefinition::toJson));
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            if (!selectionSet.isEmpty()) m.put("SelectionSet", list(selectionSet, Selection::toJson));
            return m;
        }

        static OperationDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "OperationDefinition");
            return new OperationDefinition(str(m, "Operation"), str(m, "Name"), fromList(m.get("VariableDefinitions"), VariableDefinition::fromJson),
                    fromList(m.get("Directives"), Directive::fromJson), fromList(m.get("SelectionSet"), Selection::fromJson), 0, 0);
        }
    }

    public record FragmentDefinition(String name, List<VariableDefinition> variableDefinition, String typeCondition,
                                     List<Directive> directives, List<Selection> selectionSet, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Name", name);
            if (!variableDefinition.isEmpty()) m.put("VariableDefinition", list(variableDefinition, VariableDefinition::toJson));
            m.put("TypeCondition", typeCondition);
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            if (!selectionSet.isEmpty()) m.put("SelectionSet", list(selectionSet, Selection::toJson));
            return m;
        }

        static FragmentDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "FragmentDefinition");
            return new FragmentDefinition(str(m, "Name"), fromList(m.get("VariableDefinition"), VariableDefinition::fromJson),
                    str(m, "TypeCondition"), fromList(m.get("Directives"), Directive::fromJson),
                    fromList(m.get("SelectionSet"), Selection::fromJson), 0, 0);
        }
    }

    public record QueryDocument(List<OperationDefinition> operations, List<FragmentDefinition> fragments) {
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            if (!operations.isEmpty()) m.put("Operations", list(operations, OperationDefinition::toJson));
            if (!fragments.isEmpty()) m.put("Fragments", list(fragments, FragmentDefinition::toJson));
            return m;
        }

        public static QueryDocument fromJson(Object o) {
            Map<?, ?> m = map(o, "QueryDocument");
            return new QueryDocument(fromList(m.get("Operations"), OperationDefinition::fromJson),
                    fromList(m.get("Fragments"), FragmentDefinition::fromJson));
        }
    }

    /** An argument of a field or directive, or an input object's field (gqlparser uses one shape for both). */
    public record FieldDefinition(String description, String name, List<FieldDefinition> arguments, Value defaultValue, Type type,
                                  List<Directive> directives, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Description", description);
            m.put("Name", name);
            if (!arguments.isEmpty()) m.put("Arguments", list(arguments, FieldDefinition::toJson));
            if (defaultValue != null) m.put("DefaultValue", defaultValue.toJson());
            m.put("Type", type.toJson());
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            return m;
        }

        static FieldDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "FieldDefinition");
            return new FieldDefinition(str(m, "Description"), str(m, "Name"), fromList(m.get("Arguments"), FieldDefinition::fromJson),
                    Value.fromJson(m.get("DefaultValue")), Type.fromJson(m.get("Type")), fromList(m.get("Directives"), Directive::fromJson), 0, 0);
        }
    }

    public record EnumValueDefinition(String description, String name, List<Directive> directives, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Description", description);
            m.put("Name", name);
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            return m;
        }

        static EnumValueDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "EnumValueDefinition");
            return new EnumValueDefinition(str(m, "Description"), str(m, "Name"), fromList(m.get("Directives"), Directive::fromJson), 0, 0);
        }
    }

    /** A type definition or extension; kind is one of SCALAR, OBJECT, INTERFACE, UNION, ENUM, INPUT_OBJECT. */
    public record Definition(String kind, String description, String name, List<Directive> directives, List<String> interfaces,
                             List<FieldDefinition> fields, List<String> types, List<EnumValueDefinition> enumValues,
                             boolean builtIn, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Kind", kind);
            m.put("Description", description);
            m.put("Name", name);
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            if (!interfaces.isEmpty()) m.put("Interfaces", new ArrayList<>(interfaces));
            if (!fields.isEmpty()) m.put("Fields", list(fields, FieldDefinition::toJson));
            if (!types.isEmpty()) m.put("Types", new ArrayList<>(types));
            if (!enumValues.isEmpty()) m.put("EnumValues", list(enumValues, EnumValueDefinition::toJson));
            m.put("BuiltIn", builtIn);
            return m;
        }

        static Definition fromJson(Object o) {
            Map<?, ?> m = map(o, "Definition");
            return new Definition(str(m, "Kind"), str(m, "Description"), str(m, "Name"), fromList(m.get("Directives"), Directive::fromJson),
                    fromList(m.get("Interfaces"), x -> text(x, "Interfaces")), fromList(m.get("Fields"), FieldDefinition::fromJson),
                    fromList(m.get("Types"), x -> text(x, "Types")), fromList(m.get("EnumValues"), EnumValueDefinition::fromJson),
                    bool(m, "BuiltIn"), 0, 0);
        }
    }

    public record OperationTypeDefinition(String operation, String type, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Operation", operation);
            m.put("Type", type);
            return m;
        }

        static OperationTypeDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "OperationTypeDefinition");
            return new OperationTypeDefinition(str(m, "Operation"), str(m, "Type"), 0, 0);
        }
    }

    public record SchemaDefinition(String description, List<Directive> directives, List<OperationTypeDefinition> operationTypes) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Description", description);
            if (!directives.isEmpty()) m.put("Directives", list(directives, Directive::toJson));
            if (!operationTypes.isEmpty()) m.put("OperationTypes", list(operationTypes, OperationTypeDefinition::toJson));
            return m;
        }

        static SchemaDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "SchemaDefinition");
            return new SchemaDefinition(str(m, "Description"), fromList(m.get("Directives"), Directive::fromJson),
                    fromList(m.get("OperationTypes"), OperationTypeDefinition::fromJson));
        }
    }

    public record DirectiveDefinition(String description, String name, List<FieldDefinition> arguments, List<String> locations,
                                      boolean isRepeatable, int line, int column) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Description", description);
            m.put("Name", name);
            if (!arguments.isEmpty()) m.put("Arguments", list(arguments, FieldDefinition::toJson));
            m.put("Locations", new ArrayList<>(locations));
            m.put("IsRepeatable", isRepeatable);
            return m;
        }

        static DirectiveDefinition fromJson(Object o) {
            Map<?, ?> m = map(o, "DirectiveDefinition");
            return new DirectiveDefinition(str(m, "Description"), str(m, "Name"), fromList(m.get("Arguments"), FieldDefinition::fromJson),
                    fromList(m.get("Locations"), x -> text(x, "Locations")), bool(m, "IsRepeatable"), 0, 0);
        }
    }

    public record SchemaDocument(List<SchemaDefinition> schema, List<SchemaDefinition> schemaExtension, List<DirectiveDefinition> directives,
                                 List<Definition> definitions, List<Definition> extensions) {
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            if (!schema.isEmpty()) m.put("Schema", list(schema, SchemaDefinition::toJson));
            if (!schemaExtension.isEmpty()) m.put("SchemaExtension", list(schemaExtension, SchemaDefinition::toJson));
            if (!directives.isEmpty()) m.put("Directives", list(directives, DirectiveDefinition::toJson));
            if (!definitions.isEmpty()) m.put("Definitions", list(definitions, Definition::toJson));
            if (!extensions.isEmpty()) m.put("Extensions", list(extensions, Definition::toJson));
            return m;
        }

        public static SchemaDocument fromJson(Object o) {
            Map<?, ?> m = map(o, "SchemaDocument");
            return new SchemaDocument(fromList(m.get("Schema"), SchemaDefinition::fromJson),
                    fromList(m.get("SchemaExtension"), SchemaDefinition::fromJson),
                    fromList(m.get("Directives"), DirectiveDefinition::fromJson),
                    fromList(m.get("Definitions"), Definition::fromJson), fromList(m.get("Extensions"), Definition::fromJson));
        }
    }

    private static <T> List<Object> list(List<T> items, Function<T, Object> f) {
        List<Object> out = new ArrayList<>(items.size());
        for (T t : items) out.add(f.apply(t));
        return out;
    }

    private static <T> List<T> fromList(Object o, Function<Object, T> f) {
        if (o == null) return List.of();
        if (!(o instanceof List<?> l)) throw shape("list", "an array", o);
        List<T> out = new ArrayList<>(l.size());
        for (Object x : l) out.add(f.apply(x));
        return List.copyOf(out);
    }

    private static Map<?, ?> map(Object o, String what) {
        if (o instanceof Map<?, ?> m) return m;
        throw shape(what, "an object", o);
    }

    private static String str(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) return "";
        return text(v, key);
    }

    private static String text(Object v, String key) {
        if (v instanceof String s) return s;
        throw shape(key, "a string", v);
    }

    private static boolean bool(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) return false;
        if (v instanceof Boolean b) return b;
        throw shape(key, "a boolean", v);
    }

    private static GraphQlException shape(String what, String want, Object got) {
        return new GraphQlException("AST field " + what + " must be " + want + ", found " + (got == null ? "null" : got.getClass().getSimpleName()), 0, 0);
    }
}
