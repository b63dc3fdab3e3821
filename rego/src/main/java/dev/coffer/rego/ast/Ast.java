package dev.coffer.rego.ast;

import dev.coffer.rego.value.Value;

import java.util.List;

/**
 * The Rego syntax tree as the parser produces it. Operators are already calls to their
 * built-ins ({@code a + b} is {@code plus(a, b)}), as in OPA, so the compiler has one kind of
 * call to deal with.
 */
public final class Ast {
    private Ast() {
    }

    /** Where something is written; line and column count from 1. */
    public record Location(String file, int line, int column) {
        @Override
        public String toString() {
            return file + ":" + line + ":" + column;
        }
    }

    public sealed interface Term permits Scalar, Var, Ref, ArrayTerm, ObjectTerm, SetTerm, ArrayCompr, SetCompr,
            ObjectCompr, Call, TemplateString {
        Location loc();
    }

    public record Scalar(Value value, Location loc) implements Term {
    }

    public record Var(String name, Location loc) implements Term {
        public boolean isWildcard() {
            return name.equals("_") || name.startsWith("$");
        }
    }

    /** {@code head.a[b]...}; dotted segments are string scalars. */
    public record Ref(Term head, List<Term> path, Location loc) implements Term {
    }

    public record ArrayTerm(List<Term> items, Location loc) implements Term {
    }

    public record KeyValue(Term key, Term value) {
    }

    public record ObjectTerm(List<KeyValue> entries, Location loc) implements Term {
    }

    public record SetTerm(List<Term> items, Location loc) implements Term {
    }

    public record ArrayCompr(Term head, Body body, Location loc) implements Term {
    }

    public record SetCompr(Term head, Body body, Location loc) implements Term {
    }

    public record ObjectCompr(Term key, Term value, Body body, Location loc) implements Term {
    }

    /** A call: {@code name} is the function's dotted name or a ref to it (data.x.f). */
    public record Call(Term function, List<Term> args, Location loc) implements Term {
    }

    /** {@code $"a {x} b"}: literal parts interleaved with embedded terms (null part = none). */
    public record TemplateString(List<Object> parts, Location loc) implements Term {
    }

    /** A template part with modifiers, {@code {a with input as x}}: the term evaluated under them. */
    public record TemplateWith(Term term, List<With> withs, Location loc) {
    }

    public sealed interface Expr permits TermExpr, Unify, Assign, Not, SomeDecl, SomeIn, Every, Block, Logic {
    }

    public record TermExpr(Term term) implements Expr {
    }

    public record Unify(Term left, Term right) implements Expr {
    }

    public record Assign(Term left, Term right) implements Expr {
    }

    public record Not(Expr expr) implements Expr {
    }

    public record SomeDecl(List<Var> vars) implements Expr {
    }

    /** {@code some [key,] value in collection}. */
    public record SomeIn(Term key, Term value, Term collection) implements Expr {
    }

    /** {@code every [key,] value in collection { body }}. */
    public record Every(Term key, Term value, Term collection, Body body) implements Expr {
    }

    /** {@code { a; b }} after {@code not}: a nested body whose variables stay inside it. */
    public record Block(Body body) implements Expr {
    }

    /** {@code a and b} / {@code a or b} (future.keywords.and / .or): conjunction and short-circuit disjunction. */
    public record Logic(boolean and, Expr left, Expr right) implements Expr {
    }

    public record With(Term target, Term value, Location loc) {
    }

    public record Literal(Expr expr, List<With> withs, Location loc) {
    }

    public record Body(List<Literal> literals, Location loc) {
    }

    public enum RuleKind { COMPLETE, PARTIAL_SET, PARTIAL_OBJECT, FUNCTION }

    /**
     * One rule definition. {@code head} is the rule's ref relative to the package (first
     * element a string scalar). {@code key} is the element of a {@code contains} rule;
     * {@code value} may be null (meaning true). {@code elseRule} continues an else chain.
     */
    public record Rule(RuleKind kind, List<Term> head, List<Term> args, Term key, Term value, boolean isDefault,
                       boolean assign, Body body, Rule elseRule, Location loc) {
        public String name() {
            return ((dev.coffer.rego.value.StringValue) ((Scalar) head.getFirst()).value()).value();
        }
    }

    public record Import(Ref path, String alias, Location loc) {
    }

    /**
     * @param packageAnnotations the package's METADATA block (scope added), or null
     * @param ruleAnnotations    METADATA blocks of rules, by rule identity (scope added)
     */
    public record Module(String file, List<String> pkg, List<Import> imports, List<Rule> rules, boolean v1,
                         dev.coffer.rego.value.ObjectValue packageAnnotations,
                         java.util.Map<Rule, dev.coffer.rego.value.ObjectValue> ruleAnnotations) {
    }
}
