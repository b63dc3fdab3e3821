package dev.coffer.rego;

import dev.coffer.rego.ast.Ast;
import dev.coffer.rego.builtins.Builtin;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The compiled form the evaluator runs: variables resolved to frame slots, names resolved
 * to rules, imports and built-ins. Built once per policy and shared by all evaluations.
 */
final class Ir {
    private Ir() {
    }

    sealed interface T permits Const, Local, InputRoot, DataRoot, RefT, ArrT, ObjT, SetT, ArrComp, SetComp, ObjComp,
            CallT, Template {
    }

    record Const(Value value) implements T {
    }

    /** A variable of the enclosing rule's frame. */
    record Local(int slot, String name, Ast.Location loc) implements T {
    }

    record InputRoot() implements T {
    }

    record DataRoot() implements T {
    }

    record RefT(T head, T[] path, Ast.Location loc) implements T {
    }

    record ArrT(T[] items) implements T {
    }

    record ObjT(T[] keys, T[] values) implements T {
    }

    record SetT(T[] items) implements T {
    }

    record ArrComp(T head, Lit[] body) implements T {
    }

    record SetComp(T head, Lit[] body) implements T {
    }

    record ObjComp(T key, T value, Lit[] body) implements T {
    }

    /** A call; {@code name} is how {@code with} replaces it (built-in name or data.path of a function). */
    record CallT(String name, Callee callee, T[] args, Ast.Location loc) implements T {
    }

    /** A template part evaluated under {@code with}: an array comprehension collecting its values. */
    record TemplateCollect(T comprehension) {
    }

    record Template(Object[] parts, Ast.Location loc) implements T {
    }

    sealed interface Callee permits BuiltinCallee, FunctionCallee {
    }

    record BuiltinCallee(Builtin builtin) implements Callee {
    }

    record FunctionCallee(RuleSet rules) implements Callee {
    }

    sealed interface X permits XTerm, XUnify, XNot, XSomeIn, XEvery, XCallOut, XNop, XBlock, XLogic {
    }

    record XTerm(T term) implements X {
    }

    record XUnify(T left, T right) implements X {
    }

    record XNot(X inner) implements X {
    }

    record XSomeIn(T key, T value, T collection) implements X {
    }

    record XEvery(T key, T value, T collection, Lit[] body) implements X {
    }

    /** A call with an explicit output operand: {@code count(xs, n)}. */
    record XCallOut(CallT call, T out) implements X {
    }

    record XBlock(Lit[] body) implements X {
    }

    record XLogic(boolean and, X left, X right) implements X {
    }

    record XNop() implements X {
    }

    enum WithKind { INPUT, DATA, FUNCTION }

    /** {@code with target as value}; for FUNCTION, {@code replacement} is set when value names a function. */
    record WithT(WithKind kind, Value[] path, String function, T value, Callee replacement) {
    }

    record Lit(X expr, WithT[] withs, Ast.Location loc) {
    }

    /** One compiled rule definition (one element of an else chain links to the next). */
    record CRule(Ast.RuleKind kind, T[] args, T key, T[] dynPath, T value, boolean constantValue, Lit[] body,
                 int slots, CRule elseRule, Ast.Location loc) {
    }

    /** All definitions of one rule path. */
    static final class RuleSet {
        final String path;
        final List<Value> pathKeys;
        Ast.RuleKind kind;
        int arity = -1;
        final List<CRule> rules = new ArrayList<>();
        CRule defaultRule;
        /** Source rules, kept until compiled. */
        final List<Ast.Rule> sources = new ArrayList<>();
        /** {@link Purity}'s verdict for a function: 0 not yet known, 1 pure, 2 impure. */
        volatile int purity;
        /**
         * Results of a pure function, by arguments, shared by every evaluation of the policy
         * (bounded: cleared when full).
         */
        final java.util.concurrent.ConcurrentHashMap<Object, Value> sharedResults = new java.util.concurrent.ConcurrentHashMap<>();
        final List<Ast.Module> sourceModules = new ArrayList<>();

        RuleSet(String path, List<Value> pathKeys) {
            this.path = path;
            this.pathKeys = pathKeys;
        }
    }

    /** A node of the data tree: packages and rule prefixes; may hold a rule set. */
    static final class Node {
        final List<Value> path;
        final TreeMap<Value, Node> children = new TreeMap<>(Value.ORDER);
        RuleSet rules;

        Node(List<Value> path) {
            this.path = path;
        }
    }
}
