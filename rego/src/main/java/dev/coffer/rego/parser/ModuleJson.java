package dev.coffer.rego.parser;

import dev.coffer.rego.ast.Ast;
import dev.coffer.rego.ast.Ast.Term;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.NullValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed module in OPA's JSON form (what {@code rego.parse_module} returns and
 * {@code opa parse --format json} prints, without locations): {"package": {"path": terms},
 * "imports": [...], "rules": [{"head": ..., "body": [exprs]}]}, each term {"type", "value"}.
 * Operators appear as the built-in calls they are ({@code x = 1} is {@code eq(x, 1)}).
 */
public final class ModuleJson {
    private ModuleJson() {
    }

    public static Value of(Ast.Module m) {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Object> path = new ArrayList<>();
        path.add(term("var", "data"));
        for (String p : m.pkg()) path.add(term("string", p));
        out.put("package", Map.of("path", path));
        if (!m.imports().isEmpty()) {
            List<Object> imps = new ArrayList<>();
            for (Ast.Import i : m.imports()) {
                Map<String, Object> im = new LinkedHashMap<>();
                im.put("path", term(i.path()));
                if (i.alias() != null && !i.alias().isEmpty()) im.put("alias", i.alias());
                imps.add(im);
            }
            out.put("imports", imps);
        }
        if (!m.rules().isEmpty()) {
            List<Object> rules = new ArrayList<>();
            for (Ast.Rule r : m.rules()) rules.add(rule(r));
            out.put("rules", rules);
        }
        return Value.fromJava(out);
    }

    private static Map<String, Object> rule(Ast.Rule r) {
        Map<String, Object> head = new LinkedHashMap<>();
        head.put("name", r.name());
        List<Object> ref = new ArrayList<>();
        ref.add(term("var", r.name()));
        for (int i = 1; i < r.head().size(); i++) ref.add(term(r.head().get(i)));
        head.put("ref", ref);
        if (r.args() != null && !r.args().isEmpty()) {
            List<Object> args = new ArrayList<>();
            for (Term t : r.args()) args.add(term(t));
            head.put("args", args);
        }
        if (r.key() != null) head.put("key", term(r.key()));
        head.put("value", r.value() != null ? term(r.value()) : term("boolean", true));
        if (r.assign()) head.put("assign", true);
        Map<String, Object> out = new LinkedHashMap<>();
        if (r.isDefault()) out.put("default", true);
        out.put("head", head);
        out.put("body", body(r.body()));
        if (r.elseRule() != null) out.put("else", rule(r.elseRule()));
        return out;
    }

    private static List<Object> body(Ast.Body b) {
        List<Object> out = new ArrayList<>();
        if (b == null || b.literals().isEmpty()) {
            out.add(Map.of("index", 0, "terms", term("boolean", true)));
            return out;
        }
        int i = 0;
        for (Ast.Literal l : b.literals()) {
            Map<String, Object> e = expr(l.expr());
            e.put("index", i++);
            if (!l.withs().isEmpty()) {
                List<Object> ws = new ArrayList<>();
                for (Ast.With w : l.withs()) ws.add(Map.of("target", term(w.target()), "value", term(w.value())));
                e.put("with", ws);
            }
            out.add(e);
        }
        return out;
    }

    private static Map<String, Object> expr(Ast.Expr x) {
        Map<String, Object> e = new LinkedHashMap<>();
        switch (x) {
            case Ast.TermExpr t when t.term() instanceof Ast.Call c -> e.put("terms", callTerms(c));
            case Ast.TermExpr t -> e.put("terms", term(t.term()));
            case Ast.Unify u -> e.put("terms", List.of(operator("eq"), term(u.left()), term(u.right())));
            case Ast.Assign a -> e.put("terms", List.of(operator("assign"), term(a.left()), term(a.right())));
            case Ast.Not n -> {
                e.putAll(expr(n.expr()));
                e.put("negated", true);
            }
            case Ast.SomeDecl s -> {
                List<Object> syms = new ArrayList<>();
                for (Ast.Var v : s.vars()) syms.add(term(v));
                e.put("terms", Map.of("symbols", syms));
            }
            case Ast.SomeIn s -> {
                List<Object> args = new ArrayList<>();
                if (s.key() != null) args.add(term(s.key()));
                args.add(term(s.value()));
                args.add(term(s.collection()));
                List<Object> call = new ArrayList<>();
                call.add(operator(s.key() != null ? "internal.member_3" : "internal.member_2"));
                call.addAll(args);
                e.put("terms", Map.of("symbols", List.of(Map.of("type", "call", "value", call))));
            }
            case Ast.Every ev -> {
                Map<String, Object> t = new LinkedHashMap<>();
                if (ev.key() != null) t.put("key", term(ev.key()));
                t.put("value", term(ev.value()));
                t.put("domain", term(ev.collection()));
                t.put("body", body(ev.body()));
                e.put("terms", t);
            }
            case Ast.Block b -> e.put("terms", Map.of("body", body(b.body())));
            case Ast.Logic l -> e.put("terms", List.of(operator(l.and() ? "and" : "or"), expr(l.left()), expr(l.right())));
        }
        return e;
    }

    private static List<Object> callTerms(Ast.Call c) {
        List<Object> out = new ArrayList<>();
        out.add(function(c.function()));
        for (Term a : c.args()) out.add(term(a));
        return out;
    }

    private static Object function(Term f) {
        if (f instanceof Ast.Var v) return operator(v.name());
        return term(f);
    }

    /** A built-in's name as OPA writes it: a ref of a var and strings, "a.b" as [var a, string b]. */
    private static Map<String, Object> operator(String dotted) {
        String[] parts = dotted.split("\\.");
        List<Object> ref = new ArrayList<>();
        ref.add(term("var", parts[0]));
        for (int i = 1; i < parts.length; i++) ref.add(term("string", parts[i]));
        return term("ref", ref);
    }

    private static Map<String, Object> term(String type, Object value) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        m.put("value", value);
        return m;
    }

    private static Object term(Term t) {
        return switch (t) {
            case Ast.Scalar s -> value(s.value());
            case Ast.Var v -> term("var", v.name());
            case Ast.Ref r -> {
                List<Object> parts = new ArrayList<>();
                parts.add(term(r.head()));
                for (Term p : r.path()) parts.add(term(p));
                yield term("ref", parts);
            }
            case Ast.ArrayTerm a -> term("array", terms(a.items()));
            case Ast.SetTerm s -> term("set", terms(s.items()));
            case Ast.ObjectTerm o -> {
                List<Object> pairs = new ArrayList<>();
                for (Ast.KeyValue kv : o.entries()) pairs.add(List.of(term(kv.key()), term(kv.value())));
                yield term("object", pairs);
            }
            case Ast.ArrayCompr c -> term("arraycomprehension", Map.of("term", term(c.head()), "body", body(c.body())));
            case Ast.SetCompr c -> term("setcomprehension", Map.of("term", term(c.head()), "body", body(c.body())));
            case Ast.ObjectCompr c -> term("objectcomprehension", Map.of("key", term(c.key()), "value", term(c.value()), "body", body(c.body())));
            case Ast.Call c -> term("call", callTerms(c));
            case Ast.TemplateString ts -> term("templatestring", ts.toString());
        };
    }

    private static List<Object> terms(List<Term> ts) {
        List<Object> out = new ArrayList<>();
        for (Term t : ts) out.add(term(t));
        return out;
    }

    private static Map<String, Object> value(Value v) {
        return switch (v) {
            case NullValue n -> term("null", null);
            case BooleanValue b -> term("boolean", b.value());
            case NumberValue n -> term("number", n.toJava());
            case StringValue s -> term("string", s.value());
            case ArrayValue a -> {
                List<Object> items = new ArrayList<>();
                for (Value x : a.items()) items.add(value(x));
                yield term("array", items);
            }
            case SetValue s -> {
                List<Object> items = new ArrayList<>();
                for (Value x : s.items()) items.add(value(x));
                yield term("set", items);
            }
            case ObjectValue o -> {
                List<Object> pairs = new ArrayList<>();
                for (Map.Entry<Value, Value> e : o.map().entrySet()) pairs.add(List.of(value(e.getKey()), value(e.getValue())));
                yield term("object", pairs);
            }
            default -> term("unknown", v.toString());
        };
    }
}
