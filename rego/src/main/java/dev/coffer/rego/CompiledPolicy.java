package dev.coffer.rego;

import dev.coffer.rego.ast.Ast;
import dev.coffer.rego.parser.Parser;
import dev.coffer.rego.value.Value;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A compiled set of modules. Immutable and thread-safe: evaluate it from any number of
 * threads, each call with its own input and a (shared, thread-safe) {@link DataStore}.
 * Queries are compiled on first use and cached.
 */
public final class CompiledPolicy {
    private static final String RESULT_VAR = "coffer_result__";
    private final Compiler compiler;
    private final Ir.Node root;
    private final ConcurrentHashMap<String, Compiler.Query> queries = new ConcurrentHashMap<>();
    private final List<String> packages;

    CompiledPolicy(Compiler compiler, List<String> packages) {
        this.compiler = compiler;
        this.root = compiler.root;
        this.packages = List.copyOf(packages);
    }

    /** The compiled rule tree (for tests in this package). */
    Ir.Node root() {
        return root;
    }

    /** Package names of the compiled modules, e.g. {@code policy}. */
    public List<String> packages() {
        return packages;
    }

    /**
     * Evaluates a query such as {@code data.policy.allow = x} or {@code x := data.a[_]}.
     * Returns one row of bindings per solution. Throws {@link RegoException} for errors.
     */
    public EvalResult eval(String query, Value input, DataStore data, EvalOptions options) {
        Compiler.Query q = compiled(query);
        Eval ev = new Eval(root, input, data == null ? dev.coffer.rego.value.ObjectValue.EMPTY : data.snapshot(), options);
        List<Map<String, Value>> rows = run(() -> ev.query(q));
        return new EvalResult(rows, null, List.copyOf(ev.prints));
    }

    /**
     * Evaluates one reference, e.g. {@code data.policy.create_container}, and returns its
     * value in {@link EvalResult#value()}, or null when it is undefined.
     */
    public EvalResult evalRef(String ref, Value input, DataStore data, EvalOptions options) {
        Compiler.Query q = queries.computeIfAbsent("\u0000ref:" + ref, k -> {
            Ast.Body body = Parser.parseQuery(ref);
            if (body.literals().size() != 1 || !(body.literals().getFirst().expr() instanceof Ast.TermExpr te))
                throw new RegoException("rego_parse_error", "query", "expected a single reference such as data.policy.allow, found " + ref);
            Ast.Literal lit = new Ast.Literal(new Ast.Unify(new Ast.Var(RESULT_VAR, body.loc()), te.term()),
                    body.literals().getFirst().withs(), body.loc());
            synchronized (compiler) {
                return compiler.compileQuery(new Ast.Body(List.of(lit), body.loc()));
            }
        });
        Eval ev = new Eval(root, input, data == null ? dev.coffer.rego.value.ObjectValue.EMPTY : data.snapshot(), options);
        List<Map<String, Value>> rows = run(() -> ev.query(q));
        Value v = null;
        if (rows.size() > 1) throw new RegoException("eval_conflict_error", null, ref + " has more than one value");
        if (!rows.isEmpty()) v = rows.getFirst().get(RESULT_VAR);
        return new EvalResult(List.of(), v, List.copyOf(ev.prints));
    }

    private Compiler.Query compiled(String query) {
        return queries.computeIfAbsent(query, k -> {
            Ast.Body body = Parser.parseQuery(query);
            synchronized (compiler) {
                return compiler.compileQuery(body);
            }
        });
    }

    private static <R> R run(java.util.function.Supplier<R> s) {
        try {
            return s.get();
        } catch (StackOverflowError e) {
            // deep recursion in a hostile policy or input must not take the host down
            throw new RegoException("eval_limit_error", null,
                    "evaluation nested too deeply and exhausted the stack; simplify the policy or input, or lower maxDepth");
        }
    }
}
