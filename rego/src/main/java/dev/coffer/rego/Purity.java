package dev.coffer.rego;

import dev.coffer.rego.Ir.ArrComp;
import dev.coffer.rego.Ir.ArrT;
import dev.coffer.rego.Ir.BuiltinCallee;
import dev.coffer.rego.Ir.CRule;
import dev.coffer.rego.Ir.CallT;
import dev.coffer.rego.Ir.Const;
import dev.coffer.rego.Ir.FunctionCallee;
import dev.coffer.rego.Ir.Lit;
import dev.coffer.rego.Ir.Local;
import dev.coffer.rego.Ir.ObjComp;
import dev.coffer.rego.Ir.ObjT;
import dev.coffer.rego.Ir.RefT;
import dev.coffer.rego.Ir.RuleSet;
import dev.coffer.rego.Ir.SetComp;
import dev.coffer.rego.Ir.SetT;
import dev.coffer.rego.Ir.T;
import dev.coffer.rego.Ir.X;
import dev.coffer.rego.builtins.Builtin;
import dev.coffer.rego.builtins.Builtins;

import java.util.HashSet;
import java.util.Set;

/**
 * Which functions are pure: their result depends on their arguments only, so a result computed
 * in one evaluation holds in every other evaluation of the same compiled policy. A function is
 * pure when no definition of it (else branches and default included) reads input or data, uses
 * {@code with}, calls a built-in whose answer depends on more than its operands (the clock,
 * randomness, the network, print, or a built-in the embedder added), or calls a function that
 * is not pure. Anything this analysis does not recognise counts as impure.
 */
final class Purity {
    /**
     * Built-ins whose result depends on the evaluation (its clock, its per-evaluation memo), on
     * randomness, or on the world, or that act on it. Audited against every built-in's code: the
     * readers of {@code BuiltinContext.now()} (time.now_ns, io.jwt.decode_verify without a time
     * constraint, crypto.x509.parse_and_verify_certificates for validity periods), of the memo
     * (rand.intn, uuid.rfc4122), of randomness (io.jwt.encode_sign and encode_sign_raw: ECDSA
     * and RSA-PSS signatures differ on every call, as OPA marks them nondeterministic), of the
     * network (http.send, net.lookup_ip_addr), of the runtime (opa.runtime), and the output
     * side effects (print, internal.print, trace). {@code PureFunctionCacheTest} checks each one.
     */
    static final Set<String> CONTEXT_DEPENDENT = Set.of("print", "internal.print", "trace",
            "time.now_ns", "io.jwt.decode_verify", "crypto.x509.parse_and_verify_certificates",
            "rand.intn", "uuid.rfc4122", "io.jwt.encode_sign", "io.jwt.encode_sign_raw",
            "http.send", "net.lookup_ip_addr", "opa.runtime");

    private Purity() {
    }

    static boolean isPure(RuleSet rs) {
        int p = rs.purity;
        if (p != 0) return p == 1;
        boolean pure = analyse(rs, new HashSet<>());
        rs.purity = pure ? 1 : 2;
        return pure;
    }

    private static boolean analyse(RuleSet rs, Set<RuleSet> visiting) {
        if (rs.purity != 0) return rs.purity == 1;
        if (!visiting.add(rs)) return true; // a cycle adds nothing impure by itself
        for (CRule r : rs.rules) if (!rule(r, visiting)) return false;
        return rs.defaultRule == null || rule(rs.defaultRule, visiting);
    }

    private static boolean rule(CRule r, Set<RuleSet> v) {
        for (CRule c = r; c != null; c = c.elseRule()) {
            if (!terms(c.args(), v) || !term(c.key(), v) || !terms(c.dynPath(), v) || !term(c.value(), v) || !body(c.body(), v)) return false;
        }
        return true;
    }

    private static boolean body(Lit[] body, Set<RuleSet> v) {
        if (body == null) return true;
        for (Lit l : body) {
            if (l.withs() != null && l.withs().length > 0) return false;
            if (!expr(l.expr(), v)) return false;
        }
        return true;
    }

    private static boolean expr(X x, Set<RuleSet> v) {
        return switch (x) {
            case Ir.XTerm t -> term(t.term(), v);
            case Ir.XUnify u -> term(u.left(), v) && term(u.right(), v);
            case Ir.XNot n -> expr(n.inner(), v);
            case Ir.XSomeIn s -> term(s.key(), v) && term(s.value(), v) && term(s.collection(), v);
            case Ir.XEvery e -> term(e.key(), v) && term(e.value(), v) && term(e.collection(), v) && body(e.body(), v);
            case Ir.XCallOut c -> term(c.call(), v) && term(c.out(), v);
            case Ir.XBlock b -> body(b.body(), v);
            case Ir.XLogic l -> expr(l.left(), v) && expr(l.right(), v);
            case Ir.XNop n -> true;
        };
    }

    private static boolean terms(T[] ts, Set<RuleSet> v) {
        if (ts == null) return true;
        for (T t : ts) if (!term(t, v)) return false;
        return true;
    }

    private static boolean term(T t, Set<RuleSet> v) {
        if (t == null) return true;
        return switch (t) {
            case Const c -> true;
            case Local l -> true;
            case Ir.InputRoot i -> false;
            case Ir.DataRoot d -> false;
            case RefT r -> term(r.head(), v) && terms(r.path(), v);
            case ArrT a -> terms(a.items(), v);
            case SetT s -> terms(s.items(), v);
            case ObjT o -> terms(o.keys(), v) && terms(o.values(), v);
            case ArrComp c -> term(c.head(), v) && body(c.body(), v);
            case SetComp c -> term(c.head(), v) && body(c.body(), v);
            case ObjComp c -> term(c.key(), v) && term(c.value(), v) && body(c.body(), v);
            case CallT c -> callee(c, v) && terms(c.args(), v);
            case Ir.Template tp -> false;
        };
    }

    private static boolean callee(CallT c, Set<RuleSet> v) {
        return switch (c.callee()) {
            case BuiltinCallee b -> {
                Builtin bi = b.builtin();
                yield !bi.nondeterministic() && !CONTEXT_DEPENDENT.contains(bi.name()) && Builtins.get(bi.name()) == bi;
            }
            case FunctionCallee f -> analyse(f.rules(), v);
            case null -> false;
        };
    }
}
