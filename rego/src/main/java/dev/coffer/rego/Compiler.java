package dev.coffer.rego;

import dev.coffer.rego.Ir.*;
import dev.coffer.rego.ast.Ast;
import dev.coffer.rego.ast.Ast.*;
import dev.coffer.rego.builtins.Builtin;
import dev.coffer.rego.builtins.Builtins;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns parsed modules into the rule tree and IR. Variables are resolved here: a name is a
 * declared local ({@code some}, {@code :=}, function argument, {@code every}), else
 * {@code input}/{@code data}/an import/a rule of the package, else an implicit local of the
 * outermost enclosing body that mentions it (so comprehensions see outer variables).
 */
final class Compiler {
    final Node root = new Node(List.of());
    private final Map<String, Set<String>> rulesByPackage = new HashMap<>();
    private final Map<String, Builtin> extraBuiltins;

    Compiler(Map<String, Builtin> extraBuiltins) {
        this.extraBuiltins = extraBuiltins;
    }

    /** OPA's deprecated built-ins, which v1 modules cannot call (OPA 1.0 removed them from v1). */
    static final Set<String> DEPRECATED_BUILTINS = Set.of("any", "all", "re_match", "net.cidr_overlap", "set_diff",
            "cast_array", "cast_set", "cast_string", "cast_boolean", "cast_null", "cast_object");

    /** Per-module naming context. */
    private record ModCtx(Ast.Module module, List<Value> pkg, Map<String, T> imports, Set<String> ruleNames) {
    }

    private static final class Scope {
        final Scope parent;
        final Map<String, Integer> declared = new HashMap<>();
        final Set<String> bodyVars;

        Scope(Scope parent, Set<String> bodyVars) {
            this.parent = parent;
            this.bodyVars = bodyVars;
        }
    }

    /** Slot allocation for one rule (all nested scopes share the frame). */
    private static final class Frame {
        int slots;
    }

    record Query(Lit[] body, int slots, LinkedHashMap<String, Integer> outputs) {
    }

    // ------------------------------------------------------------------ modules

    /** The rule definition being compiled, for rego.metadata.rule() and rego.metadata.chain(). */
    private record Metadata(RuleSet rules, Rule rule, Ast.Module module) {
    }

    private Metadata metadata;
    private List<Ast.Module> allModules = List.of();

    void compile(List<Ast.Module> modules) {
        allModules = modules;
        for (Ast.Module m : modules) {
            rulesByPackage.computeIfAbsent(String.join(".", m.pkg()), k -> new HashSet<>());
            for (Rule r : m.rules()) rulesByPackage.get(String.join(".", m.pkg())).add(r.name());
        }
        for (Ast.Module m : modules) {
            for (Rule r : m.rules()) placeRule(m, r);
        }
        // packages exist as (possibly empty) nodes even without rules
        for (Ast.Module m : modules) nodeAt(pkgKeys(m));
        checkNoRulesBeneath(root);
        List<RuleSet> sets = new ArrayList<>();
        collect(root, sets);
        for (RuleSet rs : sets) {
            for (int i = 0; i < rs.sources.size(); i++) {
                Rule r = rs.sources.get(i);
                Ast.Module m = rs.sourceModules.get(i);
                metadata = new Metadata(rs, r, m);
                CRule cr = compileRule(r, modCtx(m));
                metadata = null;
                if (r.isDefault()) {
                    if (rs.defaultRule != null)
                        throw new RegoException("rego_type_error", r.loc().toString(), "multiple default rules " + rs.path + " found");
                    rs.defaultRule = cr;
                } else {
                    rs.rules.add(cr);
                }
            }
            rs.sources.clear();
            rs.sourceModules.clear();
        }
        modCtxCache.clear();
    }

    /**
     * A complete rule, a set (multi-value) rule or a function defines its whole document, so no
     * other rule may define a path beneath it: v0's {@code r.s { true }} (r contains "s") next
     * to {@code r.u.v { true }} would otherwise lose one of the two. OPA rejects the pair at
     * compile time; only object rules with a variable key share their prefix.
     */
    private static void checkNoRulesBeneath(Node n) {
        if (n.rules != null && n.rules.kind != RuleKind.PARTIAL_OBJECT) {
            List<String> beneath = new ArrayList<>();
            for (Node c : n.children.values()) rulePaths(c, beneath);
            if (!beneath.isEmpty()) {
                Rule first = n.rules.sources.getFirst();
                // OPA's wording: "multi-value rule data.p conflicts with [data.p.q data.p.r]"
                throw new RegoException("rego_type_error", first.loc().toString(),
                        describe(n.rules.kind) + " " + n.rules.path + " conflicts with [" + String.join(" ", beneath)
                                + "]: it defines its whole document, so no rule may define a path inside it; rename one of them");
            }
        }
        for (Node c : n.children.values()) checkNoRulesBeneath(c);
    }

    private static void rulePaths(Node n, List<String> out) {
        if (n.rules != null) out.add(n.rules.path);
        for (Node c : n.children.values()) rulePaths(c, out);
    }

    private static String describe(RuleKind k) {
        return switch (k) {
            case COMPLETE -> "single-value rule";
            case PARTIAL_SET -> "multi-value rule";
            case FUNCTION -> "function";
            case PARTIAL_OBJECT -> "object rule";
        };
    }

    private static void collect(Node n, List<RuleSet> out) {
        if (n.rules != null) out.add(n.rules);
        for (Node c : n.children.values()) collect(c, out);
    }

    private static List<Value> pkgKeys(Ast.Module m) {
        List<Value> out = new ArrayList<>();
        for (String s : m.pkg()) out.add(Value.of(s));
        return out;
    }

    private Node nodeAt(List<Value> path) {
        Node n = root;
        for (int i = 0; i < path.size(); i++) {
            Value k = path.get(i);
            Node c = n.children.get(k);
            if (c == null) {
                c = new Node(List.copyOf(path.subList(0, i + 1)));
                n.children.put(k, c);
            }
            n = c;
        }
        return n;
    }

    private void placeRule(Ast.Module m, Rule r) {
        List<Value> path = pkgKeys(m);
        int ground = 0;
        for (Term t : r.head()) {
            if (t instanceof Scalar s) {
                path.add(s.value());
                ground++;
            } else break;
        }
        if (ground < r.head().size() && r.kind() != RuleKind.PARTIAL_OBJECT && r.kind() != RuleKind.PARTIAL_SET)
            throw new RegoException("rego_parse_error", r.loc().toString(), "rule head ref must be ground except for the last term of a partial rule");
        Node node = nodeAt(path);
        String name = "data." + joinPath(path);
        if (node.rules == null) node.rules = new RuleSet(name, List.copyOf(path));
        RuleSet rs = node.rules;
        RuleKind kind = r.kind();
        // "p[q].r contains s" builds an object at p whose leaves are sets
        if (kind == RuleKind.PARTIAL_SET && ground < r.head().size()) kind = RuleKind.PARTIAL_OBJECT;
        if (rs.kind == null) rs.kind = kind;
        else if (rs.kind != kind) {
            throw new RegoException("rego_type_error", r.loc().toString(), "conflicting rules " + name + " found");
        }
        if (kind == RuleKind.FUNCTION) {
            if (rs.arity >= 0 && rs.arity != r.args().size())
                throw new RegoException("rego_type_error", r.loc().toString(), "conflicting rules " + name + " found: functions must have the same number of arguments");
            rs.arity = r.args().size();
        }
        rs.sources.add(r);
        rs.sourceModules.add(m);
    }

    /** A call of the walk built-in (not of a rule of the package that happens to be named walk). */
    private static boolean isWalk(Term t, ModCtx m) {
        return t instanceof Call c && c.function() instanceof Var v && v.name().equals("walk") && c.args().size() == 1
                && !m.ruleNames().contains("walk");
    }

    /**
     * A function argument written as a template string, {@code f($"{x} y")}, can use variables
     * the body binds: it becomes a plain argument compared with the template after the body.
     */
    private static Rule templateArgsLast(Rule r) {
        if (r.args() == null || r.args().stream().noneMatch(a -> a instanceof TemplateString)) return r;
        List<Term> args = new ArrayList<>();
        List<Literal> lits = new ArrayList<>(r.body().literals());
        for (int i = 0; i < r.args().size(); i++) {
            Term a = r.args().get(i);
            if (a instanceof TemplateString ts) {
                Var v = new Var("__template_arg_" + i, ts.loc());
                args.add(v);
                lits.add(new Literal(new Unify(v, ts), List.of(), ts.loc()));
            } else {
                args.add(a);
            }
        }
        return new Rule(r.kind(), r.head(), args, r.key(), r.value(), r.isDefault(), r.assign(), new Body(lits, r.body().loc()),
                r.elseRule(), r.loc());
    }

    private Value metadataRule() {
        if (metadata == null) return ObjectValue.EMPTY;
        ObjectValue a = metadata.module().ruleAnnotations().get(metadata.rule());
        return a != null && Value.of("rule").equals(a.get(Value.of("scope"))) ? a : ObjectValue.EMPTY;
    }

    /** [rule entry, document-scope entry, package entry, subpackages entries of enclosing packages], as OPA orders them. */
    private Value metadataChain() {
        if (metadata == null) return Value.array();
        List<Value> out = new ArrayList<>();
        Value rulePath = Value.array(metadata.rules().pathKeys);
        Value own = metadataRule();
        out.add(chainEntry(rulePath, own == ObjectValue.EMPTY ? null : (ObjectValue) own));
        for (int i = 0; i < metadata.rules().sources.size(); i++) {
            ObjectValue a = metadata.rules().sourceModules.get(i).ruleAnnotations().get(metadata.rules().sources.get(i));
            if (a != null && Value.of("document").equals(a.get(Value.of("scope")))) {
                out.add(chainEntry(rulePath, a));
                break;
            }
        }
        List<String> pkg = metadata.module().pkg();
        for (int len = pkg.size(); len >= 1; len--) {
            List<String> p = pkg.subList(0, len);
            for (Ast.Module mod : allModules) {
                ObjectValue a = mod.packageAnnotations();
                if (a == null || !mod.pkg().equals(p)) continue;
                Value scope = a.get(Value.of("scope"));
                if (len == pkg.size() && Value.of("package").equals(scope) || Value.of("subpackages").equals(scope)) {
                    List<Value> keys = new ArrayList<>();
                    for (String x : p) keys.add(Value.of(x));
                    out.add(chainEntry(Value.array(keys), a));
                    break;
                }
            }
        }
        return Value.array(out);
    }

    private static Value chainEntry(Value path, ObjectValue annotations) {
        TreeMap<Value, Value> m = new TreeMap<>(Value.ORDER);
        m.put(Value.of("path"), path);
        if (annotations != null) m.put(Value.of("annotations"), annotations);
        return dev.coffer.rego.value.ObjectValue.wrap(m);
    }

    private static boolean isGround(List<Term> head) {
        for (Term t : head) if (!(t instanceof Scalar)) return false;
        return true;
    }

    static String joinPath(List<Value> path) {
        StringBuilder sb = new StringBuilder();
        for (Value v : path) {
            if (v instanceof StringValue s && s.value().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                if (!sb.isEmpty()) sb.append('.');
                sb.append(s.value());
            } else {
                sb.append('[').append(v.toJson()).append(']');
            }
        }
        return sb.toString();
    }

    /** By identity: hashing a module record would hash its whole syntax tree on every lookup. */
    private final Map<Ast.Module, ModCtx> modCtxCache = new java.util.IdentityHashMap<>();

    private ModCtx modCtx(Ast.Module m) {
        return modCtxCache.computeIfAbsent(m, mm -> {
            Map<String, T> imports = new HashMap<>();
            for (Import im : mm.imports()) {
                Ref p = im.path();
                String root = ((Var) p.head()).name();
                if (root.equals("future") || root.equals("rego")) continue;
                List<Term> path = p.path();
                String alias = im.alias();
                if (alias == null) {
                    if (path.isEmpty()) alias = root;
                    else if (path.getLast() instanceof Scalar s && s.value() instanceof StringValue sv) alias = sv.value();
                    else throw new RegoException("rego_parse_error", im.loc().toString(), "import path must end in a name or have an alias");
                }
                T head = root.equals("input") ? new InputRoot() : new DataRoot();
                if (path.isEmpty()) {
                    imports.put(alias, head);
                } else {
                    T[] tp = new T[path.size()];
                    for (int i = 0; i < tp.length; i++) {
                        if (!(path.get(i) instanceof Scalar s)) throw new RegoException("rego_parse_error", im.loc().toString(), "import path must be ground");
                        tp[i] = new Const(s.value());
                    }
                    imports.put(alias, new RefT(head, tp, im.loc()));
                }
            }
            return new ModCtx(mm, pkgKeys(mm), imports, rulesByPackage.getOrDefault(String.join(".", mm.pkg()), Set.of()));
        });
    }

    private CRule compileRule(Rule r, ModCtx m) {
        r = templateArgsLast(r);
        Frame fr = new Frame();
        Set<String> vars = new HashSet<>();
        varsOfBody(r.body(), vars);
        Scope s = new Scope(null, vars);
        T[] args = null;
        if (r.args() != null) {
            args = new T[r.args().size()];
            for (int i = 0; i < args.length; i++) {
                declarePattern(r.args().get(i), s, fr, false);
                args[i] = term(r.args().get(i), s, fr, m);
            }
        }
        Lit[] body = body(r.body(), s, fr, m);
        T key = r.key() == null ? null : term(r.key(), s, fr, m);
        T[] dyn = null;
        if (r.kind() == RuleKind.PARTIAL_OBJECT || r.kind() == RuleKind.PARTIAL_SET && !(r.head().getLast() instanceof Scalar)
                || r.kind() == RuleKind.PARTIAL_SET && !isGround(r.head())) {
            int first = 0;
            while (first < r.head().size() && r.head().get(first) instanceof Scalar) first++;
            dyn = new T[r.head().size() - first];
            for (int i = 0; i < dyn.length; i++) dyn[i] = term(r.head().get(first + i), s, fr, m);
        }
        T value = r.value() == null ? new Const(Value.of(true)) : term(r.value(), s, fr, m);
        CRule elseRule = r.elseRule() == null ? null : compileRule(r.elseRule(), m);
        return new CRule(r.kind(), args, key, dyn, value, value instanceof Const, body, fr.slots, elseRule, r.loc());
    }

    // ------------------------------------------------------------------ queries

    Query compileQuery(Body body) {
        Frame fr = new Frame();
        Set<String> vars = new HashSet<>();
        varsOfBody(body, vars);
        Scope s = new Scope(null, vars);
        ModCtx m = new ModCtx(null, List.of(), Map.of(), Set.of());
        Lit[] lits = body(body, s, fr, m);
        LinkedHashMap<String, Integer> outputs = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        varsInOrder(body, names);
        for (String n : names) {
            Integer slot = s.declared.get(n);
            if (slot != null && !n.startsWith("_") && !n.startsWith("$")) outputs.putIfAbsent(n, slot);
        }
        return new Query(lits, fr.slots, outputs);
    }

    // ------------------------------------------------------------------ bodies

    private Lit[] body(Body b, Scope s, Frame fr, ModCtx m) {
        Lit[] out = new Lit[b.literals().size()];
        for (int i = 0; i < out.length; i++) out[i] = literal(b.literals().get(i), s, fr, m);
        return out;
    }

    private Lit literal(Literal l, Scope s, Frame fr, ModCtx m) {
        X x = expr(l.expr(), s, fr, m, l.loc());
        WithT[] withs = new WithT[l.withs().size()];
        for (int i = 0; i < withs.length; i++) withs[i] = with(l.withs().get(i), s, fr, m);
        return new Lit(x, withs, l.loc());
    }

    private X expr(Expr e, Scope s, Frame fr, ModCtx m, Ast.Location loc) {
        return switch (e) {
            case TermExpr te -> {
                if (te.term() instanceof Call c) {
                    int arity = arityOf(c, m);
                    if (arity >= 0 && c.args().size() == arity + 1) {
                        List<Term> ins = c.args().subList(0, arity);
                        CallT call = call(new Call(c.function(), ins, c.loc()), s, fr, m);
                        yield new XCallOut(call, term(c.args().getLast(), s, fr, m));
                    }
                }
                yield new XTerm(term(te.term(), s, fr, m));
            }
            case Unify u -> {
                // walk is relational: "[p, v] = walk(x)" enumerates, like "walk(x, [p, v])"
                if (isWalk(u.right(), m)) yield new XCallOut(call((Call) u.right(), s, fr, m), term(u.left(), s, fr, m));
                if (isWalk(u.left(), m)) yield new XCallOut(call((Call) u.left(), s, fr, m), term(u.right(), s, fr, m));
                yield new XUnify(term(u.left(), s, fr, m), term(u.right(), s, fr, m));
            }
            case Assign a -> {
                if (isWalk(a.right(), m)) {
                    CallT call = call((Call) a.right(), s, fr, m);
                    declarePattern(a.left(), s, fr, true);
                    yield new XCallOut(call, term(a.left(), s, fr, m));
                }
                T right = term(a.right(), s, fr, m);
                declarePattern(a.left(), s, fr, true);
                yield new XUnify(term(a.left(), s, fr, m), right);
            }
            case Not n -> new XNot(expr(n.expr(), s, fr, m, loc));
            case Logic lg -> new XLogic(lg.and(), expr(lg.left(), s, fr, m, loc), expr(lg.right(), s, fr, m, loc));
            case Block b -> {
                Set<String> vars = new HashSet<>();
                varsOfBody(b.body(), vars);
                yield new XBlock(body(b.body(), new Scope(s, vars), fr, m));
            }
            case SomeDecl sd -> {
                for (Var v : sd.vars()) s.declared.put(v.name(), fr.slots++);
                yield new XNop();
            }
            case SomeIn si -> {
                T coll = term(si.collection(), s, fr, m);
                if (si.key() != null) declarePattern(si.key(), s, fr, false);
                declarePattern(si.value(), s, fr, false);
                T key = si.key() == null ? null : term(si.key(), s, fr, m);
                yield new XSomeIn(key, term(si.value(), s, fr, m), coll);
            }
            case Every ev -> {
                T coll = term(ev.collection(), s, fr, m);
                Set<String> vars = new HashSet<>();
                varsOfBody(ev.body(), vars);
                Scope inner = new Scope(s, vars);
                if (ev.key() != null) declarePattern(ev.key(), inner, fr, false);
                declarePattern(ev.value(), inner, fr, false);
                T key = ev.key() == null ? null : term(ev.key(), inner, fr, m);
                T value = term(ev.value(), inner, fr, m);
                yield new XEvery(key, value, coll, body(ev.body(), inner, fr, m));
            }
        };
    }

    /** Declares every variable of a pattern as a new local of this scope. */
    private void declarePattern(Term t, Scope s, Frame fr, boolean assign) {
        switch (t) {
            case Var v -> {
                if (v.isWildcard()) return;
                if (assign && s.declared.containsKey(v.name()))
                    throw new RegoException("rego_compile_error", v.loc().toString(), "var " + v.name() + " assigned above");
                s.declared.put(v.name(), fr.slots++);
            }
            case ArrayTerm a -> {
                for (Term x : a.items()) declarePattern(x, s, fr, assign);
            }
            case ObjectTerm o -> {
                for (KeyValue kv : o.entries()) declarePattern(kv.value(), s, fr, assign);
            }
            case Ref r -> {
                if (assign) throw new RegoException("rego_parse_error", r.loc().toString(), "cannot assign to ref");
            }
            case Call c -> {
                if (assign) throw new RegoException("rego_parse_error", c.loc().toString(), "cannot assign to call");
            }
            default -> {
                if (assign && !(t instanceof Scalar))
                    throw new RegoException("rego_compile_error", t.loc().toString(), "cannot assign to " + t.getClass().getSimpleName());
            }
        }
    }

    private WithT with(With w, Scope s, Frame fr, ModCtx m) {
        Term target = w.target();
        String head;
        List<Term> path;
        if (target instanceof Var v) {
            head = v.name();
            path = List.of();
        } else if (target instanceof Ref r && r.head() instanceof Var v) {
            head = v.name();
            path = r.path();
        } else {
            throw new RegoException("rego_compile_error", w.loc().toString(), "with target must be a reference to input, data or a function");
        }
        T value = term(w.value(), s, fr, m);
        Callee replacement = functionOf(w.value(), m);
        if (head.equals("input")) {
            return new WithT(WithKind.INPUT, constPath(path, w.loc()), null, value, null);
        }
        List<Value> dataPath = null;
        if (head.equals("data")) {
            dataPath = new ArrayList<>(List.of(constPath(path, w.loc())));
        } else if (m.imports().containsKey(head) || m.ruleNames().contains(head)) {
            dataPath = new ArrayList<>();
            T base = m.imports().get(head);
            if (base instanceof RefT rt && rt.head() instanceof DataRoot) {
                for (T x : rt.path()) dataPath.add(((Const) x).value());
            } else if (base == null) {
                dataPath.addAll(m.pkg());
                dataPath.add(Value.of(head));
            } else {
                dataPath = null;
            }
            if (dataPath != null) dataPath.addAll(List.of(constPath(path, w.loc())));
        }
        if (dataPath != null) {
            Node n = findNode(dataPath);
            if (n != null && n.rules != null && n.rules.kind == RuleKind.FUNCTION) {
                return new WithT(WithKind.FUNCTION, null, n.rules.path, value, replacement);
            }
            return new WithT(WithKind.DATA, dataPath.toArray(new Value[0]), null, value, null);
        }
        String name = dotted(target);
        if (name != null && builtin(name) != null) {
            return new WithT(WithKind.FUNCTION, null, name, value, replacement);
        }
        throw new RegoException("rego_compile_error", w.loc().toString(), "with keyword target must reference existing input, data, or a function; found " + name);
    }

    private Value[] constPath(List<Term> path, Ast.Location loc) {
        Value[] out = new Value[path.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(path.get(i) instanceof Scalar sc))
                throw new RegoException("rego_compile_error", loc.toString(), "with target path must be ground");
            out[i] = sc.value();
        }
        return out;
    }

    /** When a with-value names a function (built-in or user-defined), the function to substitute. */
    private Callee functionOf(Term t, ModCtx m) {
        String name = dotted(t);
        if (name == null) return null;
        try {
            List<Value> p = userFunctionPath(name, m);
            if (p != null) {
                Node n = findNode(p);
                if (n != null && n.rules != null && n.rules.kind == RuleKind.FUNCTION) return new FunctionCallee(n.rules);
                return null;
            }
        } catch (RegoException e) {
            return null;
        }
        Builtin b = builtin(name);
        return b == null ? null : new BuiltinCallee(b);
    }

    // ------------------------------------------------------------------ terms

    private T term(Term t, Scope s, Frame fr, ModCtx m) {
        return switch (t) {
            case Scalar sc -> new Const(sc.value());
            case Var v -> var(v, s, fr, m);
            case Ref r -> ref(r, s, fr, m);
            case ArrayTerm a -> {
                T[] items = terms(a.items(), s, fr, m);
                Value c = constArray(items);
                yield c != null ? new Const(c) : new ArrT(items);
            }
            case SetTerm st -> {
                T[] items = terms(st.items(), s, fr, m);
                if (allConst(items)) {
                    TreeSet<Value> set = new TreeSet<>(Value.ORDER);
                    for (T x : items) set.add(((Const) x).value());
                    yield new Const(dev.coffer.rego.value.SetValue.wrap(set));
                }
                yield new SetT(items);
            }
            case ObjectTerm o -> {
                T[] keys = new T[o.entries().size()];
                T[] vals = new T[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = term(o.entries().get(i).key(), s, fr, m);
                    vals[i] = term(o.entries().get(i).value(), s, fr, m);
                }
                if (allConst(keys) && allConst(vals)) {
                    TreeMap<Value, Value> map = new TreeMap<>(Value.ORDER);
                    for (int i = 0; i < keys.length; i++) map.put(((Const) keys[i]).value(), ((Const) vals[i]).value());
                    yield new Const(dev.coffer.rego.value.ObjectValue.wrap(map));
                }
                yield new ObjT(keys, vals);
            }
            case ArrayCompr c -> {
                Scope inner = comprScope(c.body(), s);
                Lit[] body = body(c.body(), inner, fr, m);
                yield new ArrComp(term(c.head(), inner, fr, m), body);
            }
            case SetCompr c -> {
                Scope inner = comprScope(c.body(), s);
                Lit[] body = body(c.body(), inner, fr, m);
                yield new SetComp(term(c.head(), inner, fr, m), body);
            }
            case ObjectCompr c -> {
                Scope inner = comprScope(c.body(), s);
                Lit[] body = body(c.body(), inner, fr, m);
                yield new ObjComp(term(c.key(), inner, fr, m), term(c.value(), inner, fr, m), body);
            }
            case Call c -> {
                // annotations are known at compile time: the calls become constants
                if (c.args().isEmpty() && c.function() instanceof Ref fr0 && fr0.head() instanceof Var rv && rv.name().equals("rego")
                        && fr0.path().size() == 2 && fr0.path().get(0) instanceof Scalar s0 && s0.value().equals(Value.of("metadata"))
                        && fr0.path().get(1) instanceof Scalar s1 && s1.value() instanceof StringValue which
                        && (which.value().equals("rule") || which.value().equals("chain"))) {
                    yield new Const(which.value().equals("rule") ? metadataRule() : metadataChain());
                }
                yield call(c, s, fr, m);
            }
            case TemplateString ts -> {
                Object[] parts = new Object[ts.parts().size()];
                for (int i = 0; i < parts.length; i++) {
                    Object p = ts.parts().get(i);
                    if (p instanceof TemplateWith tw) {
                        // "{a with input as x}": [v | v = a with input as x], one value expected at evaluation
                        Var v = new Var("__template_value_" + i, tw.loc());
                        Body b = new Body(List.of(new Literal(new Unify(v, tw.term()), tw.withs(), tw.loc())), tw.loc());
                        parts[i] = new TemplateCollect(term(new ArrayCompr(v, b, tw.loc()), s, fr, m));
                    } else {
                        parts[i] = p instanceof Term pt ? term(pt, s, fr, m) : p;
                    }
                }
                yield new Template(parts, ts.loc());
            }
        };
    }

    private Scope comprScope(Body b, Scope parent) {
        Set<String> vars = new HashSet<>();
        varsOfBody(b, vars);
        return new Scope(parent, vars);
    }

    private T[] terms(List<Term> ts, Scope s, Frame fr, ModCtx m) {
        T[] out = new T[ts.size()];
        for (int i = 0; i < out.length; i++) out[i] = term(ts.get(i), s, fr, m);
        return out;
    }

    private static boolean allConst(T[] ts) {
        for (T t : ts) if (!(t instanceof Const)) return false;
        return true;
    }

    private static Value constArray(T[] items) {
        if (!allConst(items)) return null;
        ArrayList<Value> vs = new ArrayList<>(items.length);
        for (T x : items) vs.add(((Const) x).value());
        return Value.wrapList(vs);
    }

    private T var(Var v, Scope s, Frame fr, ModCtx m) {
        String name = v.name();
        if (v.isWildcard()) return new Local(fr.slots++, name, v.loc());
        for (Scope x = s; x != null; x = x.parent) {
            Integer slot = x.declared.get(name);
            if (slot != null) return new Local(slot, name, v.loc());
        }
        if (name.equals("input")) return new InputRoot();
        if (name.equals("data")) return new DataRoot();
        T imp = m.imports().get(name);
        if (imp != null) return imp;
        if (m.ruleNames().contains(name)) {
            T[] path = new T[m.pkg().size() + 1];
            for (int i = 0; i < m.pkg().size(); i++) path[i] = new Const(m.pkg().get(i));
            path[path.length - 1] = new Const(Value.of(name));
            return new RefT(new DataRoot(), path, v.loc());
        }
        List<Scope> chain = new ArrayList<>();
        for (Scope x = s; x != null; x = x.parent) chain.add(x);
        Scope target = s;
        for (int i = chain.size() - 1; i >= 0; i--) {
            if (chain.get(i).bodyVars.contains(name)) {
                target = chain.get(i);
                break;
            }
        }
        int slot = fr.slots++;
        target.declared.put(name, slot);
        return new Local(slot, name, v.loc());
    }

    private T ref(Ref r, Scope s, Frame fr, ModCtx m) {
        T head = term(r.head(), s, fr, m);
        T[] path = terms(r.path(), s, fr, m);
        if (head instanceof RefT hr) {
            T[] all = new T[hr.path().length + path.length];
            System.arraycopy(hr.path(), 0, all, 0, hr.path().length);
            System.arraycopy(path, 0, all, hr.path().length, path.length);
            return new RefT(hr.head(), all, r.loc());
        }
        if (head instanceof Local l && path.length > 0 && !s.declared.containsKey(l.name()) && isBuiltinNamespace(l.name())) {
            // e.g. a bare reference to a built-in such as count: not a value
        }
        return new RefT(head, path, r.loc());
    }

    private static boolean isBuiltinNamespace(String n) {
        return false;
    }

    // ------------------------------------------------------------------ calls

    private Builtin builtin(String name) {
        Builtin b = extraBuiltins.get(name);
        return b != null ? b : Builtins.get(name);
    }

    private int arityOf(Call c, ModCtx m) {
        String name = dotted(c.function());
        if (name == null) return -1;
        List<Value> p = userFunctionPath(name, m);
        if (p != null) {
            Node n = findNode(p);
            return n != null && n.rules != null && n.rules.kind == RuleKind.FUNCTION ? n.rules.arity : -1;
        }
        Builtin b = builtin(name);
        return b == null ? -1 : b.arity();
    }

    private CallT call(Call c, Scope s, Frame fr, ModCtx m) {
        String name = dotted(c.function());
        if (name == null) throw new RegoException("rego_type_error", c.loc().toString(), "cannot call a value that is not a function name");
        T[] args = terms(c.args(), s, fr, m);
        List<Value> p = userFunctionPath(name, m);
        if (p != null) {
            Node n = findNode(p);
            if (n == null || n.rules == null || n.rules.kind != RuleKind.FUNCTION)
                throw new RegoException("rego_type_error", c.loc().toString(), "undefined function data." + joinPath(p));
            if (n.rules.arity != args.length)
                throw new RegoException("rego_type_error", c.loc().toString(), "data." + joinPath(p) + ": arity mismatch: expected "
                        + n.rules.arity + " arguments, got " + args.length);
            return new CallT(n.rules.path, new FunctionCallee(n.rules), args, c.loc());
        }
        Builtin b = builtin(name);
        if (b != null && m.module() != null && m.module().v1() && DEPRECATED_BUILTINS.contains(name))
            throw new RegoException("rego_type_error", c.loc().toString(), "undefined function " + name
                    + " (a deprecated built-in that only v0 modules may call; in v1 use the operators or the newer built-ins instead)");
        if (b == null) throw new RegoException("rego_type_error", c.loc().toString(), "undefined function " + name);
        if (b.arity() >= 0 && b.arity() != args.length)
            throw new RegoException("rego_type_error", c.loc().toString(), name + ": arity mismatch: expected " + b.arity()
                    + " operand" + (b.arity() == 1 ? "" : "s") + ", got " + args.length);
        return new CallT(name, new BuiltinCallee(b), args, c.loc());
    }

    /** The data path of a user function call, or null when the name is a built-in. */
    private List<Value> userFunctionPath(String name, ModCtx m) {
        String[] parts = name.split("\\.");
        List<Value> path = new ArrayList<>();
        if (parts[0].equals("data")) {
            for (int i = 1; i < parts.length; i++) path.add(Value.of(parts[i]));
            return path;
        }
        T imp = m.imports().get(parts[0]);
        if (imp instanceof RefT rt && rt.head() instanceof DataRoot) {
            for (T x : rt.path()) path.add(((Const) x).value());
            for (int i = 1; i < parts.length; i++) path.add(Value.of(parts[i]));
            return path;
        }
        if (m.ruleNames().contains(parts[0])) {
            path.addAll(m.pkg());
            for (String part : parts) path.add(Value.of(part));
            return path;
        }
        return null;
    }

    private Node findNode(List<Value> path) {
        Node n = root;
        for (Value k : path) {
            n = n.children.get(k);
            if (n == null) return null;
        }
        return n;
    }

    static String dotted(Term t) {
        if (t instanceof Var v) return v.name();
        if (t instanceof Ref r && r.head() instanceof Var v) {
            StringBuilder sb = new StringBuilder(v.name());
            for (Term p : r.path()) {
                if (!(p instanceof Scalar s && s.value() instanceof StringValue sv)) return null;
                sb.append('.').append(sv.value());
            }
            return sb.toString();
        }
        return null;
    }

    // ------------------------------------------------------------------ variable collection

    private static void varsOfBody(Body b, Set<String> out) {
        for (Literal l : b.literals()) varsOfExpr(l.expr(), out);
    }

    private static void varsOfExpr(Expr e, Set<String> out) {
        switch (e) {
            case TermExpr t -> varsOfTerm(t.term(), out);
            case Unify u -> {
                varsOfTerm(u.left(), out);
                varsOfTerm(u.right(), out);
            }
            case Assign a -> varsOfTerm(a.right(), out); // := declares new locals; they are never outer variables
            case Not n -> varsOfExpr(n.expr(), out);
            case Block b -> {
            }
            case Logic lg -> {
                varsOfExpr(lg.left(), out);
                varsOfExpr(lg.right(), out);
            }
            case SomeDecl sd -> {
            }
            case SomeIn si -> varsOfTerm(si.collection(), out);
            case Every ev -> varsOfTerm(ev.collection(), out);
        }
    }

    private static void varsOfTerm(Term t, Set<String> out) {
        switch (t) {
            case Var v -> {
                if (!v.isWildcard()) out.add(v.name());
            }
            case Ref r -> {
                varsOfTerm(r.head(), out);
                for (Term p : r.path()) varsOfTerm(p, out);
            }
            case ArrayTerm a -> a.items().forEach(x -> varsOfTerm(x, out));
            case SetTerm st -> st.items().forEach(x -> varsOfTerm(x, out));
            case ObjectTerm o -> o.entries().forEach(kv -> {
                varsOfTerm(kv.key(), out);
                varsOfTerm(kv.value(), out);
            });
            case Call c -> c.args().forEach(x -> varsOfTerm(x, out));
            case TemplateString ts -> ts.parts().forEach(p -> {
                if (p instanceof Term pt) varsOfTerm(pt, out);
                if (p instanceof TemplateWith tw) varsOfTerm(tw.term(), out);
            });
            default -> {
            }
        }
    }

    private static void varsInOrder(Body b, List<String> out) {
        for (Literal l : b.literals()) {
            Set<String> s = new java.util.LinkedHashSet<>();
            Expr e = l.expr();
            if (e instanceof SomeDecl sd) sd.vars().forEach(v -> s.add(v.name()));
            if (e instanceof Assign as) varsOfTerm(as.left(), s);
            if (e instanceof SomeIn si) {
                if (si.key() != null) varsOfTerm(si.key(), s);
                varsOfTerm(si.value(), s);
            }
            varsOfExpr(e, s);
            out.addAll(s);
        }
    }

    static ArrayValue pathArray(List<Value> p) {
        return Value.array(p);
    }
}
