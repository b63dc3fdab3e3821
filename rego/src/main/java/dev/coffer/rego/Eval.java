package dev.coffer.rego;

import dev.coffer.rego.Ir.*;
import dev.coffer.rego.ast.Ast;
import dev.coffer.rego.builtins.Builtin;
import dev.coffer.rego.builtins.BuiltinContext;
import dev.coffer.rego.builtins.BuiltinException;
import dev.coffer.rego.builtins.Builtins;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One evaluation: top-down, depth-first, with backtracking by continuation. Every binding
 * is undone as soon as its continuation returns, so frames need no trail. A continuation
 * returns false to stop the search (used by {@code not}, {@code every} and constant rules).
 * Not thread-safe; a new instance is made for every evaluation.
 */
final class Eval implements BuiltinContext {
    interface K {
        boolean k();
    }

    interface VK {
        boolean k(Value v);
    }

    private static final Value UNDEF = new StringValue(new String("<undefined>"));

    private final EvalOptions opts;
    private final Node root;
    private Value input;
    private final Value baseData;
    private Value data;
    private List<Map.Entry<Value[], Value>> overlays = List.of();
    private Map<String, Object> mocks = Map.of();
    private HashMap<RuleSet, Value> ruleCache = new HashMap<>();
    private HashMap<CallKey, Value> fnCache = new HashMap<>();
    private final HashSet<RuleSet> inProgress = new HashSet<>();
    final List<String> prints = new ArrayList<>();
    private long printBytes;
    private long steps;
    private int depth;
    private final long deadline;
    private final Instant now;
    private HashMap<Object, Object> bcache;

    /**
     * A function call as a memo key, for this evaluation's memo and a pure function's results
     * shared across evaluations: the function, its arguments, and whether built-in errors were
     * strict (they decide undefined or error). Hashed once; the arguments are compared element by
     * element without the iterator a List's equals allocates. The array is the call's own and is
     * never written after the call is made.
     */
    private static final class CallKey {
        final RuleSet rs;
        final Value[] args;
        final boolean strict;
        final int hash;

        CallKey(RuleSet rs, Value[] args, boolean strict) {
            this.rs = rs;
            this.args = args;
            this.strict = strict;
            this.hash = (System.identityHashCode(rs) * 31 + Arrays.hashCode(args)) * 2 + (strict ? 1 : 0);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof CallKey other && other.hash == hash && other.rs == rs && other.strict == strict
                    && Arrays.equals(args, other.args);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** Per function; a policy's pure functions see few distinct arguments (patterns, names), hostile inputs many. */
    static final int MAX_SHARED_RESULTS = 4096;
    /** Only small results are kept: a pure function may build a large document (numbers.range) from one number. */
    static final int MAX_SHARED_RESULT_NODES = 256;

    /** What is left of {@code budget} after counting v's nodes, or -1 once it is exceeded (stops counting there). */
    static int nodesWithin(Value v, int budget) {
        budget--;
        if (budget < 0) return -1;
        switch (v) {
            case ArrayValue a -> {
                for (int i = 0, n = a.size(); i < n; i++) if ((budget = nodesWithin(a.get(i), budget)) < 0) return -1;
            }
            case SetValue st -> {
                for (Value x : st.items()) if ((budget = nodesWithin(x, budget)) < 0) return -1;
            }
            case ObjectValue o -> {
                for (Map.Entry<Value, Value> e : o.map().entrySet()) {
                    if ((budget = nodesWithin(e.getKey(), budget)) < 0 || (budget = nodesWithin(e.getValue(), budget)) < 0) return -1;
                }
            }
            default -> {
            }
        }
        return budget;
    }

    Eval(Node root, Value input, Value data, EvalOptions opts) {
        this.root = root;
        this.input = input;
        this.baseData = data;
        this.data = data;
        this.opts = opts;
        this.now = opts.now() != null ? opts.now() : Instant.now();
        this.deadline = opts.timeout() == null ? Long.MAX_VALUE : System.nanoTime() + opts.timeout().toNanos();
    }

    @Override
    public Instant now() {
        return now;
    }

    @Override
    public Map<Object, Object> cache() {
        if (bcache == null) bcache = new HashMap<>();
        return bcache;
    }

    // ------------------------------------------------------------------ queries

    List<Map<String, Value>> query(Compiler.Query q) {
        Value[] f = new Value[q.slots()];
        List<Map<String, Value>> rows = new ArrayList<>();
        HashSet<Map<String, Value>> seen = new HashSet<>();
        evalBody(q.body(), 0, f, () -> {
            Map<String, Value> row = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, Integer> e : q.outputs().entrySet()) {
                Value v = f[e.getValue()];
                if (v != null) row.put(e.getKey(), v);
            }
            if (seen.add(row)) {
                rows.add(row);
                if (rows.size() > opts.maxResults())
                    throw limit("query produced more than " + opts.maxResults() + " results; narrow the query or raise maxResults");
            }
            return true;
        });
        return rows;
    }

    // ------------------------------------------------------------------ limits

    private void step(Ast.Location loc) {
        if (++steps > opts.maxSteps()) throw tooManySteps(loc);
        if ((steps & 1023) == 0 && System.nanoTime() > deadline) throw tooLong(loc);
    }

    /** n steps at once (members a search passed over), with the limits of n calls of {@link #step}. */
    private void steps(Ast.Location loc, long n) {
        if (n <= 0) return;
        long before = steps;
        steps += n;
        if (steps > opts.maxSteps()) throw tooManySteps(loc);
        if ((before >>> 10) != (steps >>> 10) && System.nanoTime() > deadline) throw tooLong(loc);
    }

    private RegoException tooManySteps(Ast.Location loc) {
        return new RegoException("eval_limit_error", loc == null ? null : loc.toString(),
                "evaluation exceeded " + opts.maxSteps() + " steps; the policy loops too long or the limit is too low");
    }

    private RegoException tooLong(Ast.Location loc) {
        return new RegoException("eval_limit_error", loc == null ? null : loc.toString(),
                "evaluation exceeded its time limit of " + opts.timeout().toMillis() + " ms");
    }

    private void enter(Ast.Location loc) {
        if (++depth > opts.maxDepth())
            throw new RegoException("eval_limit_error", loc == null ? null : loc.toString(),
                    "evaluation nested deeper than " + opts.maxDepth() + " rule, function or comprehension calls");
    }

    private static RegoException limit(String msg) {
        return new RegoException("eval_limit_error", null, msg);
    }

    // ------------------------------------------------------------------ bodies

    boolean evalBody(Lit[] body, int i, Value[] f, K k) {
        return evalBody(body, i, f, k, 0);
    }

    /**
     * Evaluates literals in order; when a literal needs a variable that a later literal binds
     * (OPA reorders bodies for safety at compile time), it is moved behind the remaining ones
     * and evaluation retries. {@code moved} counts consecutive moves so a truly unsafe variable
     * still ends in an error.
     */
    private boolean evalBody(Lit[] body, int i, Value[] f, K k, int moved) {
        // literals that only test (the usual case) are decided in this loop, without a continuation
        while (true) {
            if (i == body.length) return k.k();
            Lit lit = body[i];
            if (lit.withs().length == 0) {
                if (i + 1 < body.length && lit.expr() instanceof XSomeIn s && s.key() == null && s.value() instanceof Local x
                        && f[x.slot()] == null && body[i + 1].expr() instanceof XTerm eq && eq.term() instanceof CallT c && isEquality(c, x)
                        && body[i + 1].withs().length == 0) {
                    Boolean done = someInEqual(body, i, x, c, f, k);
                    if (done != null) return done;
                }
                X x = lit.expr();
                T tested = x instanceof XTerm t ? t.term() : x instanceof XNot n && n.inner() instanceof XTerm t ? t.term() : null;
                if (tested instanceof CallT || tested instanceof RefT) {
                    Value v;
                    try {
                        step(lit.loc());
                        v = simple(tested, f);
                    } catch (RegoException e) {
                        if (!"rego_unsafe_var_error".equals(e.code()) || moved >= body.length - i - 1) throw e;
                        return evalBody(movedLast(body, i), i, f, k, moved + 1);
                    }
                    if (v == NOT_SIMPLE) return evalAfterStep(body, i, f, k, moved);
                    boolean holds = v != null && v != BooleanValue.FALSE && !v.equals(BooleanValue.FALSE);
                    if (holds == x instanceof XNot) return true;
                    i++;
                    moved = 0;
                    continue;
                }
                Local var = x instanceof XUnify u ? unifiedVar(u, f) : null;
                if (var != null) {
                    XUnify u = (XUnify) x;
                    T other = var == u.left() ? u.right() : u.left();
                    Value v;
                    try {
                        step(lit.loc());
                        v = other instanceof Const c ? c.value() : other instanceof Local ol ? f[ol.slot()] : simple(other, f);
                    } catch (RegoException e) {
                        if (!"rego_unsafe_var_error".equals(e.code()) || moved >= body.length - i - 1) throw e;
                        return evalBody(movedLast(body, i), i, f, k, moved + 1);
                    }
                    if (v == NOT_SIMPLE) return evalAfterStep(body, i, f, k, moved);
                    if (v == null) return true;
                    Value cur = f[var.slot()];
                    if (cur == null) {
                        f[var.slot()] = v;
                        try {
                            return evalBody(body, i + 1, f, k, 0);
                        } finally {
                            f[var.slot()] = null;
                        }
                    }
                    if (!cur.equals(v)) return true;
                    i++;
                    moved = 0;
                    continue;
                }
            }
            Next next = new Next(this, body, i + 1, f, k);
            try {
                return evalLit(lit, f, next);
            } catch (RegoException e) {
                if (next.entered || !"rego_unsafe_var_error".equals(e.code()) || moved >= body.length - i - 1) throw e;
                return evalBody(movedLast(body, i), i, f, k, moved + 1);
            }
        }
    }

    /** The body with literal i moved behind the others (it needs a variable a later literal binds). */
    private static Lit[] movedLast(Lit[] body, int i) {
        Lit[] reordered = body.clone();
        System.arraycopy(body, i + 1, reordered, i, body.length - i - 1);
        reordered[body.length - 1] = body[i];
        return reordered;
    }

    /**
     * A literal of the fast path (a test, or a variable unified with a single-valued term) whose
     * term {@link #simple} could not decide: the general evaluation, its step already counted
     * and the fast path's attempt not repeated (it may have called functions).
     */
    private boolean evalAfterStep(Lit[] body, int i, Value[] f, K k, int moved) {
        Lit lit = body[i];
        Next next = new Next(this, body, i + 1, f, k);
        try {
            switch (lit.expr()) {
                case XTerm t -> {
                    return evalTermGeneral(t.term(), f, v -> v == BooleanValue.FALSE || v.equals(BooleanValue.FALSE) || next.k());
                }
                case XNot n -> {
                    boolean[] found = {false};
                    evalTermGeneral(((XTerm) n.inner()).term(), f, v -> {
                        if (v == BooleanValue.FALSE || v.equals(BooleanValue.FALSE)) return true;
                        found[0] = true;
                        return false;
                    });
                    return found[0] || next.k();
                }
                case XUnify u -> {
                    Local var = unifiedVar(u, f);
                    T other = var == u.left() ? u.right() : u.left();
                    return evalTermGeneral(other, f, v -> unifyValue(var, v, f, next));
                }
                default -> throw new IllegalStateException("not a fast-path literal: " + lit.expr());
            }
        } catch (RegoException e) {
            if (next.entered || !"rego_unsafe_var_error".equals(e.code()) || moved >= body.length - i - 1) throw e;
            return evalBody(movedLast(body, i), i, f, k, moved + 1);
        }
    }

    /**
     * For {@code a = b} (and {@code :=}) where one side is a variable and the other a constant, a
     * bound variable, a reference or a call: the variable, which {@link #unify} would bind to (or
     * compare with) the other side's value, evaluating only that side. Null where unify does
     * something else (patterns, two unbound variables, collections).
     */
    private static Local unifiedVar(XUnify u, Value[] f) {
        T a = u.left(), b = u.right();
        boolean aFree = a instanceof Local la && f[la.slot()] == null;
        boolean bFree = b instanceof Local lb && f[lb.slot()] == null;
        if (aFree && bFree) return null;
        if (a instanceof Local la && (aFree || !bFree)) return singleValued(b, f) ? la : null;
        if (b instanceof Local lb) return singleValued(a, f) ? lb : null;
        return null;
    }

    private static boolean singleValued(T t, Value[] f) {
        return t instanceof Const || t instanceof RefT || t instanceof CallT || t instanceof Local l && f[l.slot()] != null;
    }

    /**
     * {@code some x in xs; x == a} (or {@code a == x}) with {@code a} already known: a membership
     * test, the framework's idiom for comparing lists (capabilities, mount options, env rules).
     * Evaluated as a loop that compares each member with {@code a} and continues only for the
     * equal ones, with x bound to that member: what the two literals do one after the other,
     * without a continuation and a built-in call per member. Returns null where the shortcut does
     * not apply (a or xs not a plain reference or constant, or undefined), so the general path
     * decides, errors included.
     */
    private Boolean someInEqual(Lit[] body, int i, Local x, CallT eq, Value[] f, K k) {
        T other = eq.args()[0] instanceof Local l && l.slot() == x.slot() ? eq.args()[1] : eq.args()[0];
        if (!(other instanceof Const || other instanceof Local || other instanceof RefT)) return null;
        if (!(body[i].expr() instanceof XSomeIn s) || !(s.collection() instanceof Const || s.collection() instanceof Local || s.collection() instanceof RefT))
            return null;
        Value a = simple(other, f);
        if (a == null || a == NOT_SIMPLE) return null;
        Value coll = simple(s.collection(), f);
        if (coll == null || coll == NOT_SIMPLE) return null;
        boolean xFirst = eq.args()[0] instanceof Local l && l.slot() == x.slot();
        step(body[i].loc());
        if (coll instanceof ArrayValue arr) {
            // the usual collection: the members equal to a, in order, found by the array's index (a
            // list searched again) or a linear search; each member passed over still counts the two
            // steps its comparison took when the loop made them, so the step limit is reached as before
            int last = -1;
            for (int j = arr.indexOf(a); j >= 0; j = arr.nextIndexOf(a, j)) {
                steps(body[i + 1].loc(), 2L * (j - last));
                last = j;
                f[x.slot()] = arr.get(j);
                try {
                    if (!evalBody(body, i + 2, f, k, 0)) return false;
                } finally {
                    f[x.slot()] = null;
                }
            }
            steps(body[i + 1].loc(), 2L * (arr.size() - 1 - last));
            return true;
        }
        return iterate(coll, (key, val) -> {
            step(body[i].loc());
            step(body[i + 1].loc());
            if (!(xFirst ? val.equals(a) : a.equals(val))) return true;
            f[x.slot()] = val;
            try {
                return evalBody(body, i + 2, f, k, 0);
            } finally {
                f[x.slot()] = null;
            }
        });
    }

    /** {@code x == other} or {@code other == x}, the built-in equal (not replaced by a with), x once. */
    private boolean isEquality(CallT c, Local x) {
        if (!(c.callee() instanceof BuiltinCallee bc) || !bc.builtin().name().equals("equal") || c.args().length != 2 || !mocks.isEmpty())
            return false;
        boolean left = c.args()[0] instanceof Local l && l.slot() == x.slot();
        boolean right = c.args()[1] instanceof Local r && r.slot() == x.slot();
        return left != right;
    }

    /**
     * The rest of a body after one literal, and whether evaluation got there (an unsafe-variable
     * error raised after that is not the literal's own). One object per literal step: this is the
     * evaluator's innermost allocation.
     */
    private static final class Next implements K {
        final Eval ev;
        final Lit[] body;
        final int i;
        final Value[] f;
        final K k;
        boolean entered;

        Next(Eval ev, Lit[] body, int i, Value[] f, K k) {
            this.ev = ev;
            this.body = body;
            this.i = i;
            this.f = f;
            this.k = k;
        }

        @Override
        public boolean k() {
            entered = true;
            return ev.evalBody(body, i, f, k, 0);
        }
    }

    private boolean evalLit(Lit lit, Value[] f, K k) {
        step(lit.loc());
        if (lit.withs().length > 0) return evalWith(lit, f, k);
        return evalExpr(lit.expr(), lit, f, k);
    }

    private boolean evalExpr(X x, Lit lit, Value[] f, K k) {
        switch (x) {
            case XTerm t -> {
                return evalTerm(t.term(), f, v -> v == BooleanValue.FALSE || v.equals(BooleanValue.FALSE) || k.k());
            }
            case XUnify u -> {
                return unify(u.left(), u.right(), f, k);
            }
            case XNot n -> {
                // a negated unification cannot bind: its variables must be bound by other literals
                if (n.inner() instanceof XUnify u) {
                    requireBoundInNegation(u.left(), f, lit);
                    requireBoundInNegation(u.right(), f, lit);
                }
                boolean[] found = {false};
                evalExpr(n.inner(), lit, f, () -> {
                    found[0] = true;
                    return false;
                });
                return found[0] || k.k();
            }
            case XNop n -> {
                return k.k();
            }
            case XBlock b -> {
                return evalBody(b.body(), 0, f, k);
            }
            case XLogic lg -> {
                // a logic expression is a test: it succeeds at most once, like 'not'
                boolean[] ok = {false};
                K found = () -> {
                    ok[0] = true;
                    return false;
                };
                if (lg.and()) {
                    evalExpr(lg.left(), lit, f, () -> evalExpr(lg.right(), lit, f, found));
                } else {
                    evalExpr(lg.left(), lit, f, found);
                    if (!ok[0]) evalExpr(lg.right(), lit, f, found);
                }
                return !ok[0] || k.k();
            }
            case XSomeIn s -> {
                return evalTerm(s.collection(), f, coll -> iterate(coll, (key, val) -> {
                    step(lit.loc());
                    if (s.key() == null) return unifyValue(s.value(), val, f, k);
                    return unifyValue(s.key(), key, f, () -> unifyValue(s.value(), val, f, k));
                }));
            }
            case XEvery e -> {
                return evalTerm(e.collection(), f, coll -> {
                    if (!(coll instanceof ArrayValue) && !(coll instanceof ObjectValue) && !(coll instanceof SetValue)) return true;
                    // one continuation for all members: the body must hold once for each
                    boolean[] ok = {false};
                    K found = () -> {
                        ok[0] = true;
                        return false;
                    };
                    K body = () -> evalBody(e.body(), 0, f, found);
                    boolean all = iterate(coll, (key, val) -> {
                        ok[0] = false;
                        if (e.key() == null) unifyValue(e.value(), val, f, body);
                        else unifyValue(e.key(), key, f, () -> unifyValue(e.value(), val, f, body));
                        return ok[0];
                    });
                    return !all || k.k();
                });
            }
            case XCallOut c -> {
                if (c.call().name().equals("walk")) return walk(c, f, k);
                return evalCall(c.call(), f, v -> unifyValue(c.out(), v, f, k));
            }
        }
    }

    private interface KV {
        boolean k(Value key, Value val);
    }

    private static boolean iterate(Value coll, KV k) {
        switch (coll) {
            case ArrayValue a -> {
                for (int i = 0, n = a.size(); i < n; i++) if (!k.k(NumberValue.of(i), a.get(i))) return false;
            }
            case ObjectValue o -> {
                for (Map.Entry<Value, Value> e : o.map().entrySet()) if (!k.k(e.getKey(), e.getValue())) return false;
            }
            case SetValue s -> {
                for (Value v : s.items()) if (!k.k(v, v)) return false;
            }
            default -> {
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ with

    private boolean evalWith(Lit lit, Value[] f, K k) {
        // with-values are evaluated in the outer context, first value only (they must be single-valued)
        Value savedInput = input, savedData = data;
        List<Map.Entry<Value[], Value>> savedOverlays = overlays;
        Map<String, Object> savedMocks = mocks;
        HashMap<RuleSet, Value> savedRules = ruleCache;
        HashMap<CallKey, Value> savedFns = fnCache;
        Value newInput = input;
        List<Map.Entry<Value[], Value>> newOverlays = new ArrayList<>(overlays);
        Map<String, Object> newMocks = new HashMap<>(mocks);
        for (WithT w : lit.withs()) {
            Object v;
            if (w.kind() == WithKind.FUNCTION && w.replacement() != null) {
                v = w.replacement();
            } else {
                Value[] got = {null};
                evalTerm(w.value(), f, x -> {
                    got[0] = x;
                    return false;
                });
                if (got[0] == null) return true; // undefined replacement: the expression is undefined
                v = got[0];
            }
            switch (w.kind()) {
                case INPUT -> newInput = w.path().length == 0 ? (Value) v : setPath(newInput, w.path(), 0, (Value) v);
                case DATA -> newOverlays.add(Map.entry(w.path(), (Value) v));
                case FUNCTION -> newMocks.put(w.function(), v);
            }
        }
        Value newData = baseData;
        for (Map.Entry<Value[], Value> o : newOverlays) newData = setPath(newData, o.getKey(), 0, o.getValue());
        Value nd = newData, ni = newInput;
        HashMap<RuleSet, Value> withRules = new HashMap<>();
        HashMap<CallKey, Value> withFns = new HashMap<>();
        Runnable enterWith = () -> {
            input = ni;
            data = nd;
            overlays = newOverlays;
            mocks = newMocks;
            ruleCache = withRules;
            fnCache = withFns;
        };
        Runnable leaveWith = () -> {
            input = savedInput;
            data = savedData;
            overlays = savedOverlays;
            mocks = savedMocks;
            ruleCache = savedRules;
            fnCache = savedFns;
        };
        enterWith.run();
        try {
            return evalExpr(lit.expr(), lit, f, () -> {
                leaveWith.run();
                try {
                    return k.k();
                } finally {
                    enterWith.run();
                }
            });
        } finally {
            leaveWith.run();
        }
    }

    static Value setPath(Value base, Value[] path, int i, Value v) {
        if (i == path.length) return v;
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        if (base instanceof ObjectValue o) m.putAll(o.map());
        m.put(path[i], setPath(m.get(path[i]), path, i + 1, v));
        return ObjectValue.wrap(m);
    }

    // ------------------------------------------------------------------ unification

    private boolean unify(T a, T b, Value[] f, K k) {
        if (a instanceof ArrT aa && b instanceof ArrT bb) {
            if (aa.items().length != bb.items().length) return true;
            return unifyPairs(aa.items(), bb.items(), 0, f, k);
        }
        if (a instanceof ObjT oa && b instanceof ObjT ob && isPattern(a, f) && isPattern(b, f)) {
            // two object patterns: pair values by (constant) key
            if (oa.keys().length != ob.keys().length) return true;
            T[] left = new T[oa.keys().length], right = new T[oa.keys().length];
            for (int i = 0; i < oa.keys().length; i++) {
                if (!(oa.keys()[i] instanceof Const ka)) throw new RegoException("rego_unsafe_var_error", null, "object pattern keys must be constants");
                left[i] = oa.values()[i];
                right[i] = null;
                for (int j = 0; j < ob.keys().length; j++) {
                    if (ob.keys()[j] instanceof Const kb && kb.value().equals(ka.value())) right[i] = ob.values()[j];
                }
                if (right[i] == null) return true;
            }
            return unifyPairs(left, right, 0, f, k);
        }
        if (isPattern(a, f)) {
            if (isPattern(b, f) && !(b instanceof ArrT) && !(b instanceof ObjT)) {
                throw new RegoException("rego_unsafe_var_error", null, "var " + varName(a) + " is unsafe");
            }
            return evalTerm(b, f, v -> unifyValue(a, v, f, k));
        }
        return evalTerm(a, f, v -> unifyValue(b, v, f, k));
    }

    private static void requireBoundInNegation(T t, Value[] f, Lit lit) {
        if (t instanceof Local l && f[l.slot()] == null && !l.name().startsWith("_") && !l.name().startsWith("$"))
            throw new RegoException("rego_unsafe_var_error", lit.loc() == null ? null : lit.loc().toString(), "var " + l.name() + " is unsafe");
    }

    private static String varName(T t) {
        return t instanceof Local l ? l.name() : t.toString();
    }

    private boolean unifyPairs(T[] a, T[] b, int i, Value[] f, K k) {
        if (i == a.length) return k.k();
        return unify(a[i], b[i], f, () -> unifyPairs(a, b, i + 1, f, k));
    }

    private static boolean isPattern(T t, Value[] f) {
        return switch (t) {
            case Local l -> f[l.slot()] == null;
            case ArrT a -> {
                for (T x : a.items()) if (isPattern(x, f)) yield true;
                yield false;
            }
            case ObjT o -> {
                for (T x : o.values()) if (isPattern(x, f)) yield true;
                yield false;
            }
            default -> false;
        };
    }

    /** Matches a term against a value, binding the term's unbound variables. */
    boolean unifyValue(T t, Value v, Value[] f, K k) {
        switch (t) {
            case Local l -> {
                Value cur = f[l.slot()];
                if (cur == null) {
                    f[l.slot()] = v;
                    try {
                        return k.k();
                    } finally {
                        f[l.slot()] = null;
                    }
                }
                return !cur.equals(v) || k.k();
            }
            case Const c -> {
                return !c.value().equals(v) || k.k();
            }
            case ArrT a -> {
                if (!(v instanceof ArrayValue av) || av.size() != a.items().length) return true;
                return unifyArray(a.items(), av, 0, f, k);
            }
            case ObjT o -> {
                if (!(v instanceof ObjectValue ov) || ov.size() != o.keys().length) return true;
                return unifyObject(o, ov, 0, f, k);
            }
            default -> {
                return evalTerm(t, f, x -> !x.equals(v) || k.k());
            }
        }
    }

    private boolean unifyArray(T[] items, ArrayValue av, int i, Value[] f, K k) {
        if (i == items.length) return k.k();
        return unifyValue(items[i], av.get(i), f, () -> unifyArray(items, av, i + 1, f, k));
    }

    private boolean unifyObject(ObjT o, ObjectValue ov, int i, Value[] f, K k) {
        if (i == o.keys().length) return k.k();
        return evalTerm(o.keys()[i], f, key -> {
            Value v = ov.get(key);
            if (v == null) return true;
            return unifyValue(o.values()[i], v, f, () -> unifyObject(o, ov, i + 1, f, k));
        });
    }

    // ------------------------------------------------------------------ terms

    /** The built-ins behind == and != (a policy's own built-in of that name is another instance). */
    private static final Builtin EQUAL = Builtins.get("equal"), NEQ = Builtins.get("neq");

    /** Marks a term that needs the general (enumerating) evaluator. */
    private static final Value NOT_SIMPLE = new StringValue(new String("<not simple>"));

    /**
     * Fast path for single-valued terms (constants, bound variables, refs with ground paths,
     * calls on such terms): returns the value, null for undefined, or NOT_SIMPLE. Saves the
     * continuation machinery on the hot path of typical policies.
     */
    private Value simple(T t, Value[] f) {
        switch (t) {
            case Const c -> {
                return c.value();
            }
            case Local l -> {
                Value v = f[l.slot()];
                return v == null ? NOT_SIMPLE : v;
            }
            case InputRoot i -> {
                return input;
            }
            case RefT r -> {
                T[] path = r.path();
                for (T p : path) {
                    if (!(p instanceof Const) && !(p instanceof Local l && f[l.slot()] != null)) return NOT_SIMPLE;
                }
                if (r.head() instanceof DataRoot) {
                    if (overlays.isEmpty()) return dataAt(path, f);
                    Value[] got = {null};
                    evalData(root, data, path, 0, f, v -> {
                        got[0] = v;
                        return false;
                    });
                    return got[0];
                }
                Value cur = simple(r.head(), f);
                if (cur == NOT_SIMPLE || cur == null) return cur;
                for (T p : path) {
                    Value key = p instanceof Const c ? c.value() : f[((Local) p).slot()];
                    cur = lookup(cur, key);
                    if (cur == null) return null;
                }
                return cur;
            }
            case CallT c -> {
                T[] ts = c.args();
                if (ts.length == 2 && c.callee() instanceof BuiltinCallee bc && (bc.builtin() == EQUAL || bc.builtin() == NEQ)
                        && mocks.isEmpty()) {
                    // == and !=, the commonest calls by far: compared here, without an argument array
                    // and the built-in's dispatch (what the built-ins do; neither can fail)
                    Value a = simple(ts[0], f);
                    if (a == NOT_SIMPLE) return NOT_SIMPLE;
                    Value b = simple(ts[1], f);
                    if (b == NOT_SIMPLE) return NOT_SIMPLE;
                    if (a == null || b == null) return null;
                    return Value.of(a.equals(b) == (bc.builtin() == EQUAL));
                }
                if (c.name().equals("print")) return NOT_SIMPLE;
                Value[] args = new Value[ts.length];
                boolean undefined = false;
                for (int i = 0; i < ts.length; i++) {
                    Value v = simple(ts[i], f);
                    if (v == NOT_SIMPLE) return NOT_SIMPLE;
                    if (v == null) undefined = true;
                    args[i] = v;
                }
                return undefined ? null : invoke(c, args);
            }
            default -> {
                return NOT_SIMPLE;
            }
        }
    }

    /**
     * {@code data} at a path of known keys, without {@code with} overlays: what {@link #evalData}
     * finds there, walked in a loop (rule and package nodes, then the base document or the rule's
     * value), without its continuations.
     */
    private Value dataAt(T[] path, Value[] f) {
        Node node = root;
        Value base = data;
        int i = 0;
        while (true) {
            if (node.rules != null) {
                if (node.rules.kind == Ast.RuleKind.FUNCTION) return null;
                Value v = node.children.isEmpty() ? evalRules(node.rules) : nodeValue(node, base);
                for (; v != null && i < path.length; i++) v = lookup(v, keyAt(path[i], f));
                return v;
            }
            if (i == path.length) return nodeValue(node, base);
            Value key = keyAt(path[i], f);
            Node child = node.children.get(key);
            Value childBase = base == null ? null : lookupBase(base, key);
            i++;
            if (child == null) {
                // below the rules: base documents only
                for (Value v = childBase; ; i++) {
                    if (v == null || i == path.length) return v;
                    v = lookupBase(v, keyAt(path[i], f));
                }
            }
            node = child;
            base = childBase;
        }
    }

    private static Value keyAt(T p, Value[] f) {
        return p instanceof Const c ? c.value() : f[((Local) p).slot()];
    }

    boolean evalTerm(T t, Value[] f, VK k) {
        if (t instanceof RefT || t instanceof CallT) {
            Value v = simple(t, f);
            if (v != NOT_SIMPLE) return v == null || k.k(v);
        }
        return evalTermGeneral(t, f, k);
    }

    /** {@link #evalTerm} after {@link #simple} returned NOT_SIMPLE (or without trying it, for other terms). */
    private boolean evalTermGeneral(T t, Value[] f, VK k) {
        switch (t) {
            case Const c -> {
                return k.k(c.value());
            }
            case Local l -> {
                Value v = f[l.slot()];
                if (v == null) throw new RegoException("rego_unsafe_var_error", l.loc() == null ? null : l.loc().toString(),
                        "var " + l.name() + " is unsafe");
                return k.k(v);
            }
            case InputRoot i -> {
                return input == null || k.k(input);
            }
            case DataRoot d -> {
                Value v = nodeValue(root, data);
                return v == null || k.k(v);
            }
            case RefT r -> {
                return evalRef(r, f, k);
            }
            case ArrT a -> {
                Value[] out = new Value[a.items().length];
                return evalAll(a.items(), 0, out, f, () -> k.k(Value.array(out)));
            }
            case SetT s -> {
                Value[] out = new Value[s.items().length];
                return evalAll(s.items(), 0, out, f, () -> {
                    TreeSet<Value> set = new TreeSet<>(Value.ORDER);
                    set.addAll(Arrays.asList(out));
                    return k.k(SetValue.wrap(set));
                });
            }
            case ObjT o -> {
                int n = o.keys().length;
                T[] both = new T[n * 2];
                System.arraycopy(o.keys(), 0, both, 0, n);
                System.arraycopy(o.values(), 0, both, n, n);
                Value[] out = new Value[n * 2];
                return evalAll(both, 0, out, f, () -> {
                    TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
                    for (int i = 0; i < n; i++) m.put(out[i], out[n + i]);
                    return k.k(ObjectValue.wrap(m));
                });
            }
            case ArrComp c -> {
                enter(null);
                ArrayList<Value> out = new ArrayList<>();
                try {
                    evalBody(c.body(), 0, f, () -> evalTerm(c.head(), f, v -> {
                        out.add(v);
                        return true;
                    }));
                } finally {
                    depth--;
                }
                return k.k(Value.wrapList(out));
            }
            case SetComp c -> {
                enter(null);
                TreeSet<Value> out = new TreeSet<>(Value.ORDER);
                try {
                    evalBody(c.body(), 0, f, () -> evalTerm(c.head(), f, v -> {
                        out.add(v);
                        return true;
                    }));
                } finally {
                    depth--;
                }
                return k.k(SetValue.wrap(out));
            }
            case ObjComp c -> {
                enter(null);
                TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
                try {
                    evalBody(c.body(), 0, f, () -> evalTerm(c.key(), f, key -> evalTerm(c.value(), f, val -> {
                        Value prev = out.put(key, val);
                        if (prev != null && !prev.equals(val))
                            throw new RegoException("eval_conflict_error", null, "object keys must be unique");
                        return true;
                    })));
                } finally {
                    depth--;
                }
                return k.k(ObjectValue.wrap(out));
            }
            case CallT c -> {
                return evalCall(c, f, k);
            }
            case Template tp -> {
                return evalTemplate(tp, f, k);
            }
        }
    }

    private boolean evalAll(T[] ts, int i, Value[] out, Value[] f, K k) {
        if (i == ts.length) return k.k();
        return evalTerm(ts[i], f, v -> {
            out[i] = v;
            return evalAll(ts, i + 1, out, f, k);
        });
    }

    private boolean evalTemplate(Template tp, Value[] f, VK k) {
        StringBuilder sb = new StringBuilder();
        for (Object p : tp.parts()) {
            if (p instanceof String s) {
                sb.append(s);
                continue;
            }
            List<Value> vals = new ArrayList<>();
            if (p instanceof TemplateCollect tc) {
                evalTerm(tc.comprehension(), f, v -> {
                    vals.addAll(((ArrayValue) v).items());
                    return true;
                });
            } else {
                evalTerm((T) p, f, v -> {
                    vals.add(v);
                    return true;
                });
            }
            if (vals.isEmpty()) sb.append("<undefined>");
            else if (vals.size() > 1) throw new RegoException("eval_conflict_error", tp.loc().toString(),
                    "template expression produced multiple outputs");
            else {
                Value v = vals.getFirst();
                sb.append(v instanceof StringValue s ? s.value() : dev.coffer.rego.builtins.Strings.formatValue(v));
            }
        }
        return k.k(Value.of(sb.toString()));
    }

    // ------------------------------------------------------------------ references

    private boolean evalRef(RefT r, Value[] f, VK k) {
        T head = r.head();
        if (head instanceof DataRoot) return evalData(root, data, r.path(), 0, f, k);
        if (head instanceof InputRoot) return input == null || deref(input, r.path(), 0, f, k);
        return evalTerm(head, f, v -> deref(v, r.path(), 0, f, k));
    }

    private boolean deref(Value v, T[] path, int i, Value[] f, VK k) {
        if (i == path.length) return k.k(v);
        T p = path[i];
        if (p instanceof Const c) {
            Value x = lookup(v, c.value());
            return x == null || deref(x, path, i + 1, f, k);
        }
        if (p instanceof Local l && f[l.slot()] == null) {
            return iterate(v, (key, val) -> {
                step(l.loc());
                f[l.slot()] = key;
                try {
                    return deref(val, path, i + 1, f, k);
                } finally {
                    f[l.slot()] = null;
                }
            });
        }
        if (isPattern(p, f)) {
            return iterate(v, (key, val) -> unifyValue(p, key, f, () -> deref(val, path, i + 1, f, k)));
        }
        return evalTerm(p, f, key -> {
            Value x = lookup(v, key);
            return x == null || deref(x, path, i + 1, f, k);
        });
    }

    static Value lookup(Value coll, Value key) {
        switch (coll) {
            case ObjectValue o -> {
                return o.get(key);
            }
            case ArrayValue a -> {
                if (key instanceof NumberValue n) {
                    Integer idx = n.intValueExact();
                    if (idx != null && idx >= 0 && idx < a.size()) return a.get(idx);
                }
                return null;
            }
            case SetValue s -> {
                return s.contains(key) ? key : null;
            }
            default -> {
                return null;
            }
        }
    }

    private boolean evalData(Node node, Value base, T[] path, int i, Value[] f, VK k) {
        if (node.rules != null) {
            if (node.rules.kind == Ast.RuleKind.FUNCTION) return true;
            if (node.children.isEmpty()) {
                Value v = ruleValueWithOverlays(node);
                return v == null || deref(v, path, i, f, k);
            }
            Value v = nodeValue(node, base);
            return v == null || deref(v, path, i, f, k);
        }
        if (!overlays.isEmpty()) {
            for (Map.Entry<Value[], Value> o : overlays) {
                if (o.getKey().length == node.path.size() && Arrays.asList(o.getKey()).equals(node.path)) {
                    // data replaced by with: plain document from here on
                    return deref(o.getValue(), path, i, f, k);
                }
            }
        }
        if (i == path.length) {
            Value v = nodeValue(node, base);
            return v == null || k.k(v);
        }
        T p = path[i];
        if (p instanceof Local l && f[l.slot()] == null) {
            TreeSet<Value> keys = new TreeSet<>(Value.ORDER);
            keys.addAll(node.children.keySet());
            if (base instanceof ObjectValue bo) keys.addAll(bo.map().keySet());
            for (Value key : keys) {
                f[l.slot()] = key;
                try {
                    if (!stepData(node, base, key, path, i, f, k)) return false;
                } finally {
                    f[l.slot()] = null;
                }
            }
            return true;
        }
        if (isPattern(p, f)) {
            Value v = nodeValue(node, base);
            return v == null || deref(v, path, i, f, k);
        }
        return evalTerm(p, f, key -> stepData(node, base, key, path, i, f, k));
    }

    private boolean stepData(Node node, Value base, Value key, T[] path, int i, Value[] f, VK k) {
        Node child = node.children.get(key);
        Value childBase = base == null ? null : lookupBase(base, key);
        if (child != null) return evalData(child, childBase, path, i + 1, f, k);
        return childBase == null || derefBase(childBase, path, i + 1, f, k);
    }

    /**
     * Like {@link #deref} inside base documents, whose object keys are always strings (they
     * come from JSON): a number used as a key finds the key spelled the same, as in OPA's
     * storage lookups ({@code data.nested[2]} reads {@code {"nested": {"2": ...}}}).
     */
    private boolean derefBase(Value v, T[] path, int i, Value[] f, VK k) {
        if (i == path.length) return k.k(v);
        T p = path[i];
        if (p instanceof Const c) {
            Value x = lookupBase(v, c.value());
            return x == null || derefBase(x, path, i + 1, f, k);
        }
        if (p instanceof Local l && f[l.slot()] == null || isPattern(p, f)) return deref(v, path, i, f, k);
        return evalTerm(p, f, key -> {
            Value x = lookupBase(v, key);
            return x == null || derefBase(x, path, i + 1, f, k);
        });
    }

    private static Value lookupBase(Value coll, Value key) {
        Value x = lookup(coll, key);
        if (x == null && key instanceof NumberValue && coll instanceof ObjectValue o) x = o.get(Value.of(key.toJson()));
        return x;
    }

    private Value ruleValueWithOverlays(Node node) {
        if (!overlays.isEmpty()) {
            Value v = null;
            boolean computed = false;
            for (Map.Entry<Value[], Value> o : overlays) {
                Value[] op = o.getKey();
                if (op.length < node.path.size()) continue;
                if (!Arrays.asList(op).subList(0, node.path.size()).equals(node.path)) continue;
                if (op.length == node.path.size()) return o.getValue();
                if (!computed) {
                    v = evalRules(node.rules);
                    computed = true;
                }
                v = setPath(v, op, node.path.size(), o.getValue());
            }
            if (computed) return v;
        }
        return evalRules(node.rules);
    }

    /** The full document at a node: base data merged with every rule beneath it. */
    private Value nodeValue(Node node, Value base) {
        if (!overlays.isEmpty()) {
            for (Map.Entry<Value[], Value> o : overlays) {
                if (Arrays.asList(o.getKey()).equals(node.path)) return o.getValue();
            }
        }
        Value rv = null;
        if (node.rules != null) {
            if (node.rules.kind == Ast.RuleKind.FUNCTION) return null;
            rv = ruleValueWithOverlays(node);
            if (node.children.isEmpty()) return rv;
        }
        // a package without rules (and nothing below) is an empty object, as in OPA
        if (node.children.isEmpty()) return base == null && node.rules == null ? ObjectValue.EMPTY : base;
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        if (rv instanceof ObjectValue ro) {
            for (Map.Entry<Value, Value> e : ro.map().entrySet()) merge(m, e.getKey(), e.getValue());
        }
        // the values of a partial object rule are opaque below its head: "p[q].r := {...}" and
        // "p.q.r.s.u := 42" conflict, while "p[q].r := 0" and "p.a.r := 0" agree
        int leafDepth = rv instanceof ObjectValue ? ruleLeafDepth(node.rules) : Integer.MAX_VALUE;
        for (Map.Entry<Value, Node> c : node.children.entrySet()) {
            Node cn = c.getValue();
            if (cn.rules != null && cn.rules.kind == Ast.RuleKind.FUNCTION) continue;
            Value cv = nodeValue(cn, base == null ? null : lookup(base, c.getKey()));
            if (cv == null) continue;
            if (leafDepth == Integer.MAX_VALUE) merge(m, c.getKey(), cv);
            else mergeBelowRule(m, c.getKey(), cv, leafDepth - 1);
        }
        if (base instanceof ObjectValue bo) {
            for (Map.Entry<Value, Value> e : bo.map().entrySet()) mergeBase(m, e.getKey(), e.getValue());
        }
        return ObjectValue.wrap(m);
    }

    private static int ruleLeafDepth(RuleSet rs) {
        int d = Integer.MAX_VALUE;
        if (rs == null || rs.kind != Ast.RuleKind.PARTIAL_OBJECT) return d;
        for (CRule r : rs.rules) if (r.dynPath() != null) d = Math.min(d, r.dynPath().length);
        return d;
    }

    /** Merges another rule's value into a partial object's value, {@code levels} object levels above its opaque leaves. */
    private static void mergeBelowRule(TreeMap<Value, Value> m, Value key, Value v, int levels) {
        Value prev = m.get(key);
        if (prev == null) {
            m.put(key, v);
        } else if (levels > 0 && prev instanceof ObjectValue po && v instanceof ObjectValue vo) {
            TreeMap<Value, Value> mm = new TreeMap<>(Value.ORDER);
            mm.putAll(po.map());
            for (Map.Entry<Value, Value> e : vo.map().entrySet()) mergeBelowRule(mm, e.getKey(), e.getValue(), levels - 1);
            m.put(key, ObjectValue.wrap(mm));
        } else if (levels <= 0 && prev instanceof SetValue ps && v instanceof SetValue vs) {
            TreeSet<Value> u = new TreeSet<>(Value.ORDER);
            u.addAll(ps.items());
            u.addAll(vs.items());
            m.put(key, SetValue.wrap(u));
        } else if (!prev.equals(v)) {
            throw new RegoException("eval_conflict_error", null, "object keys must be unique");
        }
    }

    /** Base data merged under virtual documents: objects merge, otherwise the base value wins (OPA does the same). */
    private static void mergeBase(TreeMap<Value, Value> m, Value key, Value base) {
        Value prev = m.get(key);
        if (prev instanceof ObjectValue po && base instanceof ObjectValue bo) {
            TreeMap<Value, Value> mm = new TreeMap<>(Value.ORDER);
            mm.putAll(po.map());
            for (Map.Entry<Value, Value> e : bo.map().entrySet()) mergeBase(mm, e.getKey(), e.getValue());
            m.put(key, ObjectValue.wrap(mm));
        } else {
            m.put(key, base);
        }
    }

    private static void merge(TreeMap<Value, Value> m, Value key, Value v) {
        Value prev = m.get(key);
        if (prev == null) {
            m.put(key, v);
        } else if (prev instanceof ObjectValue po && v instanceof ObjectValue vo) {
            TreeMap<Value, Value> mm = new TreeMap<>(Value.ORDER);
            mm.putAll(po.map());
            for (Map.Entry<Value, Value> e : vo.map().entrySet()) merge(mm, e.getKey(), e.getValue());
            m.put(key, ObjectValue.wrap(mm));
        } else if (prev instanceof SetValue ps && v instanceof SetValue vs) {
            // partial set rules contributing to the same set from different heads ("p[q].r contains" and "p.b.r contains")
            TreeSet<Value> u = new TreeSet<>(Value.ORDER);
            u.addAll(ps.items());
            u.addAll(vs.items());
            m.put(key, SetValue.wrap(u));
        } else if (!prev.equals(v)) {
            throw new RegoException("eval_conflict_error", null, "object keys must be unique");
        }
    }

    // ------------------------------------------------------------------ rules

    Value evalRules(RuleSet rs) {
        Value c = ruleCache.get(rs);
        if (c != null) return c == UNDEF ? null : c;
        if (!inProgress.add(rs))
            throw new RegoException("rego_recursion_error", null, "rule " + rs.path + " is recursive");
        Ast.Location loc = rs.rules.isEmpty() ? null : rs.rules.getFirst().loc();
        enter(loc);
        Value v;
        try {
            v = switch (rs.kind) {
                case COMPLETE -> complete(rs);
                case PARTIAL_SET -> partialSet(rs);
                case PARTIAL_OBJECT -> partialObject(rs);
                case FUNCTION -> null;
            };
        } finally {
            depth--;
            inProgress.remove(rs);
        }
        ruleCache.put(rs, v == null ? UNDEF : v);
        return v;
    }

    private Value complete(RuleSet rs) {
        Value result = null;
        for (CRule r : rs.rules) {
            Value v = completeRule(rs, r, null);
            if (v == null) continue;
            if (result != null && !result.equals(v)) throw conflict(rs, r);
            result = v;
        }
        if (result == null && rs.defaultRule != null) result = completeRule(rs, rs.defaultRule, null);
        return result;
    }

    /**
     * Two definitions (or two solutions of one) of a complete rule or function gave different
     * values. The message keeps OPA's older wording first (policies' tests and OPA's earlier
     * suites match on it) and then names the rule, as later OPA 1.x releases do.
     */
    private static RegoException conflict(RuleSet rs, CRule r) {
        String msg = r.kind() == Ast.RuleKind.FUNCTION
                ? "functions must not produce multiple outputs for same inputs: function " + rs.path + " produced conflicting values for the same inputs"
                : "complete rules must not produce multiple outputs: rule " + rs.path + " produced conflicting values";
        return new RegoException("eval_conflict_error", r.loc().toString(), msg);
    }

    /** Value of one definition (following its else chain), or null; {@code args} for functions. */
    private Value completeRule(RuleSet rs, CRule r, Value[] args) {
        for (CRule cur = r; cur != null; cur = cur.elseRule()) {
            // a definition for other constant arguments (env_ok(p, "re2", v) called with "string")
            // is passed over before its frame is made: unifying a constant is comparing with it
            if (args != null && !constantsMatch(cur.args(), args)) continue;
            RuleRun run = new RuleRun(rs, cur);
            if (args != null) bindArgs(cur.args(), args, 0, run.f, run);
            else run.run();
            if (run.out != null) return run.out;
        }
        return null;
    }

    /**
     * One definition of a complete rule or function being evaluated: its frame, the body's
     * continuation (evaluate the value) and the value's (keep it, checking that every solution
     * agrees). One object where closures would take four.
     */
    private final class RuleRun implements K, VK {
        final RuleSet rules;
        final CRule rule;
        final Value[] f;
        Value out;

        RuleRun(RuleSet rules, CRule rule) {
            this.rules = rules;
            this.rule = rule;
            this.f = new Value[rule.slots()];
        }

        /** Arguments bound: evaluate the body. */
        boolean run() {
            return evalBody(rule.body(), 0, f, this);
        }

        /** The body holds: evaluate the value. */
        @Override
        public boolean k() {
            return evalTerm(rule.value(), f, this);
        }

        @Override
        public boolean k(Value v) {
            if (out != null && !out.equals(v)) throw conflict(rules, rule);
            out = v;
            return !rule.constantValue();
        }
    }

    private static boolean constantsMatch(T[] params, Value[] args) {
        for (int i = 0; i < params.length; i++) if (params[i] instanceof Const c && !c.value().equals(args[i])) return false;
        return true;
    }

    private boolean bindArgs(T[] params, Value[] args, int i, Value[] f, RuleRun run) {
        // plain variable parameters (the usual case) bind directly, without a continuation each;
        // the frame is the call's own and is dropped after it, so nothing needs unbinding
        while (i < params.length && params[i] instanceof Local l && f[l.slot()] == null) {
            f[l.slot()] = args[i];
            i++;
        }
        if (i == params.length) return run.run();
        int at = i;
        return unifyValue(params[at], args[at], f, () -> bindArgs(params, args, at + 1, f, run));
    }

    private Value partialSet(RuleSet rs) {
        TreeSet<Value> out = new TreeSet<>(Value.ORDER);
        for (CRule r : rs.rules) {
            Value[] f = new Value[r.slots()];
            evalBody(r.body(), 0, f, () -> evalTerm(r.key(), f, v -> {
                out.add(v);
                return true;
            }));
        }
        return SetValue.wrap(out);
    }

    private Value partialObject(RuleSet rs) {
        TreeMap<Value, Object> out = new TreeMap<>(Value.ORDER);
        for (CRule r : rs.rules) {
            for (CRule cur = r; cur != null; cur = cur.elseRule()) {
                Value[] f = new Value[cur.slots()];
                Value[] keys = new Value[cur.dynPath().length];
                CRule rule = cur;
                boolean[] any = {false};
                if (rule.kind() == Ast.RuleKind.PARTIAL_SET) {
                    // "p[q].r contains s": s joins the set at p[q].r
                    evalBody(rule.body(), 0, f, () -> evalAll(rule.dynPath(), 0, keys, f, () -> evalTerm(rule.key(), f, v -> {
                        insertElement(out, keys, 0, v, rule);
                        any[0] = true;
                        return true;
                    })));
                } else {
                    evalBody(rule.body(), 0, f, () -> evalAll(rule.dynPath(), 0, keys, f, () -> evalTerm(rule.value(), f, v -> {
                        insert(out, keys, 0, v, rule);
                        any[0] = true;
                        return true;
                    })));
                }
                if (any[0]) break;
            }
        }
        return freeze(out);
    }

    @SuppressWarnings("unchecked")
    private static void insert(TreeMap<Value, Object> m, Value[] keys, int i, Value v, CRule r) {
        Value key = keys[i];
        if (i == keys.length - 1) {
            Object prev = m.get(key);
            if (prev == null) m.put(key, v);
            else if (!(prev instanceof Value pv && pv.equals(v)))
                throw new RegoException("eval_conflict_error", r.loc().toString(), "object keys must be unique");
            return;
        }
        Object next = m.get(key);
        TreeMap<Value, Object> sub;
        if (next == null) {
            sub = new TreeMap<>(Value.ORDER);
            m.put(key, sub);
        } else if (next instanceof TreeMap<?, ?> tm) {
            sub = (TreeMap<Value, Object>) tm;
        } else {
            throw new RegoException("eval_conflict_error", r.loc().toString(), "object keys must be unique");
        }
        insert(sub, keys, i + 1, v, r);
    }

    @SuppressWarnings("unchecked")
    private static void insertElement(TreeMap<Value, Object> m, Value[] keys, int i, Value elem, CRule r) {
        Value key = keys[i];
        Object next = m.get(key);
        if (i == keys.length - 1) {
            if (next == null) {
                TreeSet<Value> set = new TreeSet<>(Value.ORDER);
                set.add(elem);
                m.put(key, set);
            } else if (next instanceof TreeSet<?> ts) {
                ((TreeSet<Value>) ts).add(elem);
            } else {
                throw new RegoException("eval_conflict_error", r.loc().toString(), "object keys must be unique");
            }
            return;
        }
        TreeMap<Value, Object> sub;
        if (next == null) {
            sub = new TreeMap<>(Value.ORDER);
            m.put(key, sub);
        } else if (next instanceof TreeMap<?, ?> tm) {
            sub = (TreeMap<Value, Object>) tm;
        } else {
            throw new RegoException("eval_conflict_error", r.loc().toString(), "object keys must be unique");
        }
        insertElement(sub, keys, i + 1, elem, r);
    }

    @SuppressWarnings("unchecked")
    private static ObjectValue freeze(TreeMap<Value, Object> m) {
        TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
        for (Map.Entry<Value, Object> e : m.entrySet()) {
            Object v = e.getValue();
            out.put(e.getKey(), v instanceof TreeMap<?, ?> tm ? freeze((TreeMap<Value, Object>) tm)
                    : v instanceof TreeSet<?> ts ? SetValue.wrap((TreeSet<Value>) ts) : (Value) v);
        }
        return ObjectValue.wrap(out);
    }

    private Value callFunction(RuleSet rs, Value[] args, Ast.Location loc) {
        // memoise only calls with scalar arguments: hashing large documents costs more than it saves
        boolean memo = true;
        for (Value a : args) {
            if (a instanceof ArrayValue || a instanceof ObjectValue || a instanceof SetValue) {
                memo = false;
                break;
            }
        }
        CallKey key = memo ? new CallKey(rs, args, opts.strictBuiltinErrors()) : null;
        // a pure function's result holds across evaluations, unless a `with` replaces a function or built-in
        CallKey shared = memo && mocks.isEmpty() && Purity.isPure(rs) ? key : null;
        if (shared != null) {
            Value c = rs.sharedResults.get(shared);
            if (c != null) return c == UNDEF ? null : c;
        }
        if (memo) {
            Value c = fnCache.get(key);
            if (c != null) return c == UNDEF ? null : c;
        }
        enter(loc);
        Value result = null;
        try {
            for (CRule r : rs.rules) {
                Value v = completeRule(rs, r, args);
                if (v == null) continue;
                if (result != null && !result.equals(v)) throw conflict(rs, r);
                result = v;
            }
            if (result == null && rs.defaultRule != null) result = completeRule(rs, rs.defaultRule, args);
        } finally {
            depth--;
        }
        if (memo) fnCache.put(key, result == null ? UNDEF : result);
        if (shared != null && (result == null || nodesWithin(result, MAX_SHARED_RESULT_NODES) >= 0)) {
            if (rs.sharedResults.size() >= MAX_SHARED_RESULTS) rs.sharedResults.clear();
            rs.sharedResults.put(shared, result == null ? UNDEF : result);
        }
        return result;
    }

    // ------------------------------------------------------------------ calls

    private boolean evalCall(CallT c, Value[] f, VK k) {
        if (c.name().equals("print")) return print(c, f, k);
        Value[] args = new Value[c.args().length];
        T[] ts = c.args();
        for (int i = 0; i < ts.length; i++) {
            if (ts[i] instanceof Local l && f[l.slot()] == null && ts.length > 1) {
                // "foo == input.foos[foo]": the other operands bind foo, so evaluate them first
                int[] order = new int[ts.length];
                int n = 0;
                for (int j = 0; j < ts.length; j++) if (!(ts[j] instanceof Local lj && f[lj.slot()] == null)) order[n++] = j;
                for (int j = 0; j < ts.length; j++) if (ts[j] instanceof Local lj && f[lj.slot()] == null) order[n++] = j;
                return evalInOrder(ts, order, 0, args, f, () -> {
                    Value v = invoke(c, args.clone());
                    return v == null || k.k(v);
                });
            }
        }
        return evalAll(ts, 0, args, f, () -> {
            Value v = invoke(c, args.clone());
            return v == null || k.k(v);
        });
    }

    private boolean evalInOrder(T[] ts, int[] order, int i, Value[] out, Value[] f, K k) {
        if (i == order.length) return k.k();
        return evalTerm(ts[order[i]], f, v -> {
            out[order[i]] = v;
            return evalInOrder(ts, order, i + 1, out, f, k);
        });
    }

    private Value invoke(CallT c, Value[] args) {
        Object target = c.callee();
        if (!mocks.isEmpty()) {
            Object m = mocks.get(c.name());
            if (m != null) {
                if (m instanceof Value mv) return mv;
                // inside the replacement no replacement applies (a mock never calls another mock, as in OPA)
                Map<String, Object> saved = mocks;
                mocks = Map.of();
                HashMap<CallKey, Value> savedFns = fnCache;
                fnCache = new HashMap<>();
                try {
                    return invokeTarget((Callee) m, c, args);
                } finally {
                    mocks = saved;
                    fnCache = savedFns;
                }
            }
        }
        return invokeTarget((Callee) target, c, args);
    }

    private Value invokeTarget(Callee target, CallT c, Value[] args) {
        return switch (target) {
            case FunctionCallee fc -> {
                if (fc.rules().arity != args.length)
                    throw new RegoException("rego_type_error", c.loc().toString(), "function " + fc.rules().path + " takes " + fc.rules().arity + " arguments");
                yield callFunction(fc.rules(), args, c.loc());
            }
            case BuiltinCallee bc -> callBuiltin(bc.builtin(), args, c);
        };
    }

    private Value callBuiltin(Builtin b, Value[] args, CallT c) {
        try {
            return b.fn().apply(this, args);
        } catch (BuiltinException e) {
            if (opts.strictBuiltinErrors() || e.code().equals(BuiltinException.TYPE) && Builtins.typeErrorsAlwaysRaise(b.name())) {
                throw new RegoException(e.code(), c.loc() == null ? null : c.loc().toString(), e.getMessage());
            }
            return null;
        } catch (RegoException e) {
            throw e;
        } catch (ArithmeticException | IllegalArgumentException e) {
            if (opts.strictBuiltinErrors())
                throw new RegoException("eval_builtin_error", c.loc() == null ? null : c.loc().toString(), b.name() + ": " + e.getMessage());
            return null;
        }
    }

    private boolean print(CallT c, Value[] f, VK k) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < c.args().length; i++) {
            if (i > 0) sb.append(' ');
            List<Value> vals = new ArrayList<>();
            evalTerm(c.args()[i], f, v -> {
                vals.add(v);
                return true;
            });
            if (vals.isEmpty()) sb.append("<undefined>");
            else if (vals.getFirst() instanceof StringValue s) sb.append(s.value());
            else sb.append(dev.coffer.rego.builtins.Strings.formatValue(vals.getFirst()));
        }
        printBytes += sb.length();
        if (printBytes > opts.maxOutputBytes())
            throw new RegoException("eval_limit_error", c.loc().toString(), "print output exceeded " + opts.maxOutputBytes() + " bytes");
        prints.add(sb.toString());
        return k.k(BooleanValue.TRUE);
    }

    private boolean walk(XCallOut c, Value[] f, K k) {
        if (c.call().args().length != 1) throw new RegoException("rego_type_error", c.call().loc().toString(), "walk: arity mismatch");
        return evalTerm(c.call().args()[0], f, root -> walkValue(root, new ArrayList<>(), v -> unifyValue(c.out(), v, f, k)));
    }

    private static boolean walkValue(Value v, ArrayList<Value> path, VK k) {
        if (!k.k(Value.array(Value.array(path), v))) return false;
        return iterate(v, (key, val) -> {
            path.add(key);
            try {
                return walkValue(val, path, k);
            } finally {
                path.removeLast();
            }
        });
    }
}
