package dev.coffer.rego.parser;

import dev.coffer.rego.RegoException;
import dev.coffer.rego.ast.Ast;
import dev.coffer.rego.ast.Ast.*;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * Recursive-descent parser for Rego modules and queries, v0 and v1 syntax. Line ends
 * separate body expressions, so postfix refs, calls and infix operators only continue on the
 * same line; {@code with}, {@code else} and {@code if} may start a new line.
 */
public final class Parser {
    /** Deeper nesting than this is refused so hostile policies cannot overflow the stack. */
    public static final int MAX_NESTING = 2_000;

    private final String file;
    private final List<Token> toks;
    private int p;
    private int depth;
    private boolean v1;
    /** {@code and}/{@code or} are operators only in modules that import future.keywords.and / .or. */
    private boolean logicAnd, logicOr;
    /**
     * The future keywords a v0 module imported (future.keywords.in, .every, .contains, .if, or
     * all four with the bare future.keywords). In v0 the other three are plain names, as in
     * OPA: {@code contains("abc", "b")} is the string built-in and {@code in} may name a
     * variable. A v1 module (or one importing rego.v1) has all four.
     */
    private final java.util.Set<String> futureKeywords = new java.util.HashSet<>();
    private static final List<String> FUTURE_KEYWORDS = List.of("in", "every", "contains", "if");
    private int noBar;

    private final List<Lexer.Comment> comments;

    private Parser(String file, String src) {
        this.file = file;
        Lexer lx = new Lexer(file, src);
        this.toks = lx.tokens();
        this.comments = lx.comments;
    }

    /**
     * Parses a module. {@code defaultV1} is the syntax when the module does not choose:
     * a module importing {@code rego.v1} is always v1.
     */
    public static Ast.Module parseModule(String file, String src, boolean defaultV1) {
        Parser ps = new Parser(file, src);
        ps.v1 = defaultV1;
        return ps.module();
    }

    /** Parses a query: expressions separated by ';' or line ends. */
    public static Body parseQuery(String src) {
        Parser ps = new Parser("query", src);
        ps.v1 = true;
        Token start = ps.peek();
        List<Literal> lits = new ArrayList<>();
        while (!ps.peek().is(Token.Kind.EOF)) {
            lits.add(ps.literal());
            if (ps.peek().is(Token.Kind.SEMI)) ps.next();
            else if (!ps.peek().is(Token.Kind.EOF) && !ps.peek().newlineBefore())
                throw ps.error(ps.peek(), "unexpected " + ps.describe(ps.peek()) + " in query; separate expressions with ';' or a new line");
        }
        if (lits.isEmpty()) throw ps.error(start, "empty query; give an expression such as data.policy.allow");
        return new Body(lits, ps.loc(start));
    }

    private Ast.Module module() {
        Token t = peek();
        if (!t.isIdent("package")) throw error(t, "expected 'package' at the start of the module, found " + describe(t));
        next();
        List<String> pkg = new ArrayList<>();
        Term ref = refTerm();
        for (Term e : flattenRef(ref)) {
            if (!(e instanceof Scalar s && s.value() instanceof StringValue sv))
                throw error(t, "package path must be made of names and strings");
            pkg.add(sv.value());
        }
        if (!pkg.isEmpty() && pkg.getFirst().equals("data")) pkg.removeFirst();
        List<Import> imports = new ArrayList<>();
        while (kw("import")) {
            Token it = next();
            Term r = refTerm();
            Ref path = r instanceof Ref rr ? rr : new Ref(r, List.of(), r.loc());
            String alias = null;
            if (kw("as")) {
                next();
                alias = expect(Token.Kind.IDENT, "an alias name after 'as'").text();
            }
            String root = path.head() instanceof Var v ? v.name() : "";
            if (root.equals("rego") && path.path().size() == 1 && path.path().getFirst() instanceof Scalar s
                    && s.value().equals(Value.of("v1"))) {
                v1 = true;
            } else if (!root.equals("data") && !root.equals("input") && !root.equals("future") && !root.equals("rego")) {
                throw error(it, "import path must begin with data, input, future or rego; found " + root);
            }
            checkImportPath(it, root, path);
            if (root.equals("future") && path.path().size() >= 1) {
                if (path.path().size() == 1) futureKeywords.addAll(FUTURE_KEYWORDS);
                else if (path.path().size() == 2 && path.path().get(1) instanceof Scalar kwName
                        && kwName.value() instanceof StringValue kws && FUTURE_KEYWORDS.contains(kws.value()))
                    futureKeywords.add(kws.value());
                // as in OPA, every x in xs brings its own in
                if (futureKeywords.contains("every")) futureKeywords.add("in");
                String all = path.path().stream().map(x -> x instanceof Scalar sc ? sc.value().toString() : "").reduce("", (x, y) -> x + y);
                if (path.path().size() == 1) {
                    logicAnd = logicOr = false;
                } else if (all.contains("\"and\"")) {
                    logicAnd = true;
                } else if (all.contains("\"or\"")) {
                    logicOr = true;
                }
            }
            imports.add(new Import(path, alias, loc(it)));
        }
        List<Rule> rules = new ArrayList<>();
        List<Integer> ruleLines = new ArrayList<>();
        while (!peek().is(Token.Kind.EOF)) {
            if (kw("import")) throw error(peek(), "imports must come before rules; move this import up");
            if (kw("package")) throw error(peek(), "a module has one package declaration");
            int line = peek().line();
            List<Rule> defs = rule();
            for (int i = 0; i < defs.size(); i++) ruleLines.add(line);
            rules.addAll(defs);
        }
        // touch the annotation (YAML) code only when there are annotations: loading it opens
        // Jackson's jars, ~100 ms in a fresh JVM
        boolean annotated = false;
        for (Lexer.Comment c : comments) annotated |= c.text().strip().equals("METADATA");
        if (!annotated) return new Ast.Module(file, pkg, imports, rules, v1, null, java.util.Map.of());
        Annotations.Attached a = Annotations.attach(file, comments, t.line(), rules, ruleLines);
        return new Ast.Module(file, pkg, imports, rules, v1, a.packageAnnotations(), a.ruleAnnotations());
    }

    private List<Term> flattenRef(Term ref) {
        List<Term> out = new ArrayList<>();
        if (ref instanceof Var v) {
            out.add(new Scalar(Value.of(v.name()), v.loc()));
        } else if (ref instanceof Ref r && r.head() instanceof Var v) {
            out.add(new Scalar(Value.of(v.name()), v.loc()));
            out.addAll(r.path());
        } else {
            throw error(peek(), "expected a name or a reference such as a.b.c");
        }
        return out;
    }

    private List<Rule> rule() {
        Token start = peek();
        boolean isDefault = false;
        if (start.isIdent("default") && !isFollowedByCallOrRef()) {
            next();
            isDefault = true;
        }
        Token nameTok = peek();
        if (!nameTok.is(Token.Kind.IDENT)) throw error(nameTok, "expected a rule name, found " + describe(nameTok));
        Term headRef = refTerm();
        List<Term> head = flattenRef(headRef);
        List<Term> args = null;
        if (peek().is(Token.Kind.LPAREN) && !peek().spaceBefore()) {
            next();
            args = new ArrayList<>();
            if (!peek().is(Token.Kind.RPAREN)) {
                do {
                    args.add(term());
                } while (accept(Token.Kind.COMMA));
            }
            expect(Token.Kind.RPAREN, "')' closing the function's arguments");
            // OPA's parser keeps no arguments for an empty list, so f() = 1 defines the
            // document f = 1 (opa fmt rewrites it as f := 1), not a function of no arguments.
            if (args.isEmpty()) args = null;
        }
        Term key = null;
        Term value = null;
        boolean assign = false;
        RuleKind kind;
        if (kw("contains")) {
            next();
            key = term();
            kind = RuleKind.PARTIAL_SET;
        } else {
            if (peek().is(Token.Kind.ASSIGN) || peek().is(Token.Kind.UNIFY)) {
                assign = next().is(Token.Kind.ASSIGN);
                value = term();
            }
            if (args != null) {
                kind = RuleKind.FUNCTION;
            } else {
                Term last = head.getLast();
                boolean dynamic = false;
                for (int i = 1; i < head.size(); i++) {
                    if (!(head.get(i) instanceof Scalar)) dynamic = true;
                }
                // OPA's rule (its parser, both syntaxes): a two-term head without a value and
                // without `if` is a multi-value rule, whatever the key's form: v0's p[x] { },
                // p["a"] { } and p.a { } all define the set p. With `if` (or a longer head) a
                // head without a value is a single-value rule whose value is true.
                boolean hasIf = kw("if");
                if (head.size() == 2 && value == null && !hasIf && !v1) {
                    kind = RuleKind.PARTIAL_SET;
                    key = last;
                    head = head.subList(0, head.size() - 1);
                } else if (dynamic) {
                    kind = RuleKind.PARTIAL_OBJECT;
                } else {
                    kind = RuleKind.COMPLETE;
                }
            }
        }
        if (isDefault) {
            if (value == null) throw error(start, "default rules must have a value: default " + ((Scalar) head.getFirst()).value() + " := ...");
            if (kind == RuleKind.PARTIAL_SET || kind == RuleKind.PARTIAL_OBJECT)
                throw error(start, "default rules cannot be partial; use a complete rule");
            return List.of(new Rule(kind, List.copyOf(head), args, null, value, true, assign,
                    new Body(List.of(trueLiteral(start)), loc(start)), null, loc(start)));
        }
        Body body = ruleBody(start);
        Rule elseRule = elseChain(kind, head, args);
        List<Rule> out = new ArrayList<>();
        out.add(new Rule(kind, List.copyOf(head), args, key, value, false, assign, body, elseRule, loc(start)));
        // v0 allows several bodies after one head: p { a } { b } means p if a, p if b
        while (!v1 && peek().is(Token.Kind.LBRACE) && peek().newlineBefore() == false && body != null) {
            Body more = block();
            out.add(new Rule(kind, List.copyOf(head), args, key, value, false, assign, more, null, loc(start)));
        }
        return out;
    }

    private Literal trueLiteral(Token at) {
        return new Literal(new TermExpr(new Scalar(Value.of(true), loc(at))), List.of(), loc(at));
    }

    private Body ruleBody(Token start) {
        if (kw("if")) {
            next();
            // "if {k: v | ...}" is a one-expression body holding an object, not a block
            if (peek().is(Token.Kind.LBRACE) && !(isObjectStart() && !isEmptyBraces())) return block();
            Token t = peek();
            Literal l = literal();
            return new Body(List.of(l), loc(t));
        }
        if (peek().is(Token.Kind.LBRACE) && !peek().newlineBefore()) {
            if (v1) throw error(peek(), "`if` keyword is required before rule body");
            return block();
        }
        return new Body(List.of(trueLiteral(start)), loc(start));
    }

    private Rule elseChain(RuleKind kind, List<Term> head, List<Term> args) {
        if (!kw("else")) return null;
        Token t = next();
        if (kind == RuleKind.PARTIAL_SET || kind == RuleKind.PARTIAL_OBJECT)
            throw error(t, "else keyword cannot be used on multi-value rules");
        Term value = null;
        boolean assign = false;
        if (peek().is(Token.Kind.ASSIGN) || peek().is(Token.Kind.UNIFY)) {
            assign = next().is(Token.Kind.ASSIGN);
            value = term();
        }
        Body body = ruleBody(t);
        Rule rest = elseChain(kind, head, args);
        return new Rule(kind, head, args, null, value, false, assign, body, rest, loc(t));
    }

    private Body block() {
        Token open = expect(Token.Kind.LBRACE, "'{'");
        List<Literal> lits = new ArrayList<>();
        while (!peek().is(Token.Kind.RBRACE)) {
            if (peek().is(Token.Kind.EOF)) throw error(open, "unclosed '{'; add '}'");
            lits.add(literal());
            if (accept(Token.Kind.SEMI)) continue;
            if (!peek().is(Token.Kind.RBRACE) && !peek().newlineBefore())
                throw error(peek(), "unexpected " + describe(peek()) + "; expected a new line, ';' or '}'");
        }
        next();
        if (lits.isEmpty()) throw error(open, "found empty body; a body needs at least one expression");
        return new Body(lits, loc(open));
    }

    private Literal literal() {
        Token start = peek();
        enter(start);
        try {
            Expr e = expr();
            return new Literal(e, withs(), loc(start));
        } finally {
            depth--;
        }
    }

    private List<With> withs() {
        List<With> withs = new ArrayList<>();
        while (kw("with")) {
            Token w = next();
            Term target = refTerm();
            if (!kw("as")) throw error(peek(), "expected 'as' after the 'with' target, found " + describe(peek()));
            next();
            Term value = term();
            withs.add(new With(target, value, loc(w)));
        }
        return withs;
    }

    private Expr expr() {
        if (!logicAnd && !logicOr) return exprCore();
        Expr left = andExpr();
        while (logicOr && peek().isIdent("or") && !peek().newlineBefore()) {
            next();
            left = new Logic(false, left, andExpr());
        }
        return left;
    }

    private Expr andExpr() {
        Expr left = operand();
        while (logicAnd && peek().isIdent("and") && !peek().newlineBefore()) {
            next();
            left = new Logic(true, left, operand());
        }
        return left;
    }

    private Expr operand() {
        Token t = peek();
        if (t.isIdent("not") && !isFollowedByCallOrRef()) {
            next();
            return new Not(operand());
        }
        if (t.is(Token.Kind.LBRACE) && !isObjectStart()) return new Block(block());
        if (t.is(Token.Kind.LPAREN)) {
            int save = p, saveDepth = depth;
            try {
                next();
                Expr inner = expr();
                // "(a with x as y) and b": the modifiers apply to the parenthesised group only
                List<With> withs = withs();
                if ((inner instanceof Logic || !withs.isEmpty()) && peek().is(Token.Kind.RPAREN)) {
                    next();
                    if (withs.isEmpty()) return inner;
                    return new Block(new Body(List.of(new Literal(inner, withs, loc(t))), loc(t)));
                }
            } catch (RegoException e) {
                // not a parenthesised logic expression: parse it as a term below
            }
            p = save;
            depth = saveDepth;
        }
        return exprCore();
    }

    private boolean isEmptyBraces() {
        return toks.get(Math.min(p + 1, toks.size() - 1)).is(Token.Kind.RBRACE);
    }

    /** '{' followed by a key and ':' is an object literal, not a body. */
    private boolean isObjectStart() {
        int save = p, saveDepth = depth, saveBar = noBar;
        try {
            next();
            if (peek().is(Token.Kind.RBRACE)) return true;
            noBar++;
            term();
            noBar--;
            return peek().is(Token.Kind.COLON);
        } catch (RegoException e) {
            return false;
        } finally {
            p = save;
            depth = saveDepth;
            noBar = saveBar;
        }
    }

    private Expr exprCore() {
        Token t = peek();
        if (t.isIdent("not") && !isFollowedByCallOrRef()) {
            next();
            if (peek().is(Token.Kind.LBRACE) && looksLikeBlock()) return new Not(new Block(block()));
            return new Not(expr());
        }
        if (t.isIdent("some") && !isFollowedByCallOrRef()) {
            next();
            List<Term> terms = new ArrayList<>();
            terms.add(noInTerm());
            while (accept(Token.Kind.COMMA)) terms.add(noInTerm());
            if (kw("in")) {
                next();
                if (terms.size() > 2) throw error(t, "some ... in takes at most two variables: some key, value in collection");
                Term coll = noInTerm();
                return terms.size() == 2 ? new SomeIn(terms.get(0), terms.get(1), coll) : new SomeIn(null, terms.get(0), coll);
            }
            List<Var> vars = new ArrayList<>();
            for (Term x : terms) {
                if (!(x instanceof Var v)) throw error(t, "expected variable names after 'some', e.g. some x, y");
                vars.add(v);
            }
            return new SomeDecl(vars);
        }
        if (t.isIdent("every") && (v1 || futureKeywords.contains("every")) && !isFollowedByCallOrRef()) {
            next();
            Term a = noInTerm();
            Term b = null;
            if (accept(Token.Kind.COMMA)) b = noInTerm();
            if (!kw("in")) throw error(peek(), "expected 'in' in every: every x in xs { ... }");
            next();
            Term coll = noInTerm();
            Body body = block();
            return b == null ? new Every(null, a, coll, body) : new Every(a, b, coll, body);
        }
        // "k, v in coll" is an expression of its own at the top of a literal
        Term left = noBar == 0 && depth >= 0 ? termIn(true) : term();
        if (peek().is(Token.Kind.ASSIGN)) {
            next();
            return new Assign(left, term());
        }
        if (peek().is(Token.Kind.UNIFY)) {
            next();
            return new Unify(left, term());
        }
        return new TermExpr(left);
    }

    /**
     * After 'not', '{' opens a body unless it is an object or set literal: a body's first
     * expression ends at a line break or ';', a literal's at ',' ':' or '}' on the same line.
     */
    private boolean looksLikeBlock() {
        int save = p, saveDepth = depth;
        try {
            next();
            if (peek().is(Token.Kind.RBRACE)) return false;
            literal();
            Token t = peek();
            return t.is(Token.Kind.SEMI) || t.newlineBefore() && !t.is(Token.Kind.COMMA) && !t.is(Token.Kind.COLON);
        } catch (RegoException e) {
            return false;
        } finally {
            p = save;
            depth = saveDepth;
        }
    }

    /** The keyword {@code word} here, unless it starts a reference such as {@code in.foo} or {@code else[0]}. */
    private boolean kw(String word) {
        if (!peek().isIdent(word)) return false;
        if (!v1 && FUTURE_KEYWORDS.contains(word) && !futureKeywords.contains(word)) return false;
        Token n = toks.get(Math.min(p + 1, toks.size() - 1));
        return !((n.is(Token.Kind.DOT) || n.is(Token.Kind.LBRACK)) && !n.spaceBefore());
    }

    private boolean isFollowedByCallOrRef() {
        Token n = toks.get(p + 1);
        return (n.is(Token.Kind.LPAREN) || n.is(Token.Kind.DOT) || n.is(Token.Kind.LBRACK)) && !n.spaceBefore()
                || n.is(Token.Kind.ASSIGN) || n.is(Token.Kind.UNIFY) || n.is(Token.Kind.EQ);
    }

    // ---- terms, by precedence: in < relation < | < & < + - < * / % < unary < postfix

    private Term term() {
        return termIn(false);
    }

    /**
     * {@code a in b} chains left to right; with {@code keyVal} (top of a literal, inside
     * parentheses) {@code k, v in coll} is also tried, as OPA's parser does: when no 'in'
     * follows the second operand, the comma belongs to the enclosing construct.
     */
    private Term termIn(boolean keyVal) {
        Term l = relation();
        while (true) {
            if (keyVal && peek().is(Token.Kind.COMMA)) {
                int save = p, saveDepth = depth;
                Term call = null;
                try {
                    next();
                    Term mhs = relation();
                    if (kw("in") && !peek().newlineBefore()) {
                        Token in = next();
                        Term rhs = relation();
                        call = new Call(new Var("internal.member_3", loc(in)), List.of(l, mhs, rhs), loc(in));
                    }
                } catch (RegoException e) {
                    // not "k, v in coll": the comma belongs to the enclosing construct
                }
                if (call != null) {
                    l = call;
                    continue;
                }
                p = save;
                depth = saveDepth;
            }
            if (kw("in") && !peek().newlineBefore()) {
                Token in = next();
                Term r = relation();
                l = new Call(new Var("internal.member_2", loc(in)), List.of(l, r), loc(in));
                continue;
            }
            return l;
        }
    }

    private Term noInTerm() {
        return relation();
    }

    private Term relation() {
        Term l = bitOr();
        while (true) {
            Token t = peek();
            String op = switch (t.kind()) {
                case EQ -> "equal";
                case NEQ -> "neq";
                case LT -> "lt";
                case LTE -> "lte";
                case GT -> "gt";
                case GTE -> "gte";
                default -> null;
            };
            if (op == null || t.newlineBefore()) return l;
            next();
            l = new Call(new Var(op, loc(t)), List.of(l, bitOr()), loc(t));
        }
    }

    private Term bitOr() {
        Term l = bitAnd();
        while (peek().is(Token.Kind.BAR) && noBar == 0 && !peek().newlineBefore()) {
            Token t = next();
            l = new Call(new Var("or", loc(t)), List.of(l, bitAnd()), loc(t));
        }
        return l;
    }

    private Term bitAnd() {
        Term l = arith();
        while (peek().is(Token.Kind.AMP) && !peek().newlineBefore()) {
            Token t = next();
            l = new Call(new Var("and", loc(t)), List.of(l, arith()), loc(t));
        }
        return l;
    }

    private Term arith() {
        Term l = factor();
        while ((peek().is(Token.Kind.PLUS) || peek().is(Token.Kind.MINUS)) && !peek().newlineBefore()) {
            Token t = next();
            l = new Call(new Var(t.is(Token.Kind.PLUS) ? "plus" : "minus", loc(t)), List.of(l, factor()), loc(t));
        }
        return l;
    }

    private Term factor() {
        Term l = unary();
        while ((peek().is(Token.Kind.STAR) || peek().is(Token.Kind.SLASH) || peek().is(Token.Kind.PERCENT)) && !peek().newlineBefore()) {
            Token t = next();
            String op = t.is(Token.Kind.STAR) ? "mul" : t.is(Token.Kind.SLASH) ? "div" : "rem";
            l = new Call(new Var(op, loc(t)), List.of(l, unary()), loc(t));
        }
        return l;
    }

    private Term unary() {
        Token t = peek();
        if (t.is(Token.Kind.MINUS)) {
            next();
            Token n = peek();
            if (n.is(Token.Kind.NUMBER) && !n.spaceBefore()) {
                next();
                return postfix(new Scalar(number(n, "-" + n.text()), loc(t)));
            }
            Term x = unary();
            if (x instanceof Scalar s && s.value() instanceof NumberValue nv)
                return new Scalar(NumberValue.of(nv.value().negate()), loc(t));
            return new Call(new Var("minus", loc(t)), List.of(new Scalar(Value.of(0), loc(t)), x), loc(t));
        }
        return postfix(primary());
    }

    private Term postfix(Term base) {
        Term cur = base;
        List<Term> path = null;
        while (true) {
            Token t = peek();
            if (t.newlineBefore() || t.spaceBefore() && !t.is(Token.Kind.DOT)) {
                if (!(t.is(Token.Kind.DOT) && !t.newlineBefore())) break;
            }
            if (t.is(Token.Kind.DOT)) {
                next();
                Token id = peek();
                if (!id.is(Token.Kind.IDENT)) throw error(id, "unexpected " + (id.is(Token.Kind.EOF) ? "eof" : "'" + id.text() + "'")
                        + " token: expected ident (a name) after '.'");
                next();
                if (path == null) path = new ArrayList<>();
                path.add(new Scalar(Value.of(id.text()), loc(id)));
            } else if (t.is(Token.Kind.LBRACK)) {
                next();
                enter(t);
                int saveBar = noBar;
                noBar = 0;
                Term idx = term();
                noBar = saveBar;
                depth--;
                expect(Token.Kind.RBRACK, "']' closing the reference");
                if (path == null) path = new ArrayList<>();
                path.add(idx);
            } else if (t.is(Token.Kind.LPAREN)) {
                Term fn = path == null ? cur : new Ref(cur, List.copyOf(path), cur.loc());
                if (!(fn instanceof Var) && !(fn instanceof Ref r && r.head() instanceof Var)) break;
                next();
                enter(t);
                int saveBar = noBar;
                noBar = 0;
                List<Term> args = new ArrayList<>();
                while (!peek().is(Token.Kind.RPAREN)) {
                    args.add(term());
                    if (!accept(Token.Kind.COMMA)) break;
                }
                noBar = saveBar;
                depth--;
                expect(Token.Kind.RPAREN, "')' closing the call");
                if (fn instanceof Var v && v.name().equals("set") && args.isEmpty()) {
                    cur = new SetTerm(List.of(), fn.loc());
                } else {
                    cur = new Call(fn, args, fn.loc());
                }
                path = null;
            } else {
                break;
            }
        }
        if (path != null) cur = new Ref(cur, List.copyOf(path), cur.loc());
        return cur;
    }

    private Term refTerm() {
        Token t = peek();
        if (!t.is(Token.Kind.IDENT)) throw error(t, "expected a name, found " + describe(t));
        next();
        Term cur = new Var(t.text(), loc(t));
        List<Term> path = new ArrayList<>();
        while (true) {
            Token n = peek();
            if (n.is(Token.Kind.DOT) && !n.newlineBefore()) {
                next();
                Token id = peek();
                // OPA's wording ("unexpected eof token: expected ident"), which tools match on
                if (!id.is(Token.Kind.IDENT)) throw error(id, "unexpected " + (id.is(Token.Kind.EOF) ? "eof" : "'" + id.text() + "'")
                        + " token: expected ident (a name) after '.'");
                next();
                path.add(new Scalar(Value.of(id.text()), loc(id)));
            } else if (n.is(Token.Kind.LBRACK) && !n.spaceBefore()) {
                next();
                path.add(term());
                expect(Token.Kind.RBRACK, "']'");
            } else {
                break;
            }
        }
        return path.isEmpty() ? cur : new Ref(cur, List.copyOf(path), cur.loc());
    }

    private Term primary() {
        Token t = peek();
        switch (t.kind()) {
            case NUMBER -> {
                next();
                return new Scalar(number(t, t.text()), loc(t));
            }
            case STRING, RAW_STRING -> {
                next();
                return new Scalar(Value.of(t.text()), loc(t));
            }
            case TEMPLATE -> {
                next();
                return template(t);
            }
            case IDENT -> {
                next();
                if (isRefStart()) {
                    return new Var(t.text(), loc(t));
                }
                return switch (t.text()) {
                    case "true" -> new Scalar(Value.of(true), loc(t));
                    case "false" -> new Scalar(Value.of(false), loc(t));
                    case "null" -> new Scalar(Value.nullValue(), loc(t));
                    default -> {
                        if (isReserved(t.text()) && (v1 || !FUTURE_KEYWORDS.contains(t.text()) || futureKeywords.contains(t.text())) && !isRefStart())
                            throw error(t, "unexpected keyword '" + t.text() + "'; it cannot be used as a value");
                        yield new Var(t.text(), loc(t));
                    }
                };
            }
            case LPAREN -> {
                next();
                enter(t);
                int saveBar = noBar;
                noBar = 0;
                Term x = termIn(true);
                noBar = saveBar;
                depth--;
                expect(Token.Kind.RPAREN, "')'");
                return x;
            }
            case LBRACK -> {
                return array(t);
            }
            case LBRACE -> {
                return brace(t);
            }
            default -> throw error(t, "unexpected " + describe(t) + "; expected a value");
        }
    }

    /** A keyword directly followed by '.' or '[' is a name in a reference (input.if, as.foo). */
    private boolean isRefStart() {
        Token n = peek();
        return (n.is(Token.Kind.DOT) || n.is(Token.Kind.LBRACK) || n.is(Token.Kind.LPAREN)) && !n.spaceBefore();
    }

    private static boolean isReserved(String w) {
        return switch (w) {
            case "package", "import", "default", "else", "as", "with", "some", "every", "not", "if", "in", "contains" -> true;
            default -> false;
        };
    }

    private Term array(Token open) {
        next();
        enter(open);
        try {
            List<Term> items = new ArrayList<>();
            if (accept(Token.Kind.RBRACK)) return new ArrayTerm(items, loc(open));
            noBar++;
            Term first = term();
            noBar--;
            if (peek().is(Token.Kind.BAR)) {
                next();
                Body body = comprBody(Token.Kind.RBRACK, open);
                return new ArrayCompr(first, body, loc(open));
            }
            int saveBar = noBar;
            noBar = 0;
            items.add(first);
            while (accept(Token.Kind.COMMA)) {
                if (peek().is(Token.Kind.RBRACK)) break;
                items.add(term());
            }
            noBar = saveBar;
            expect(Token.Kind.RBRACK, "']' closing the array");
            return new ArrayTerm(items, loc(open));
        } finally {
            depth--;
        }
    }

    private Term brace(Token open) {
        next();
        enter(open);
        try {
            if (accept(Token.Kind.RBRACE)) return new ObjectTerm(List.of(), loc(open));
            noBar++;
            Term first = term();
            if (accept(Token.Kind.COLON)) {
                Term v = term();
                noBar--;
                if (peek().is(Token.Kind.BAR)) {
                    next();
                    Body body = comprBody(Token.Kind.RBRACE, open);
                    return new ObjectCompr(first, v, body, loc(open));
                }
                int saveBar = noBar;
                noBar = 0;
                List<KeyValue> entries = new ArrayList<>();
                entries.add(new KeyValue(first, v));
                while (accept(Token.Kind.COMMA)) {
                    if (peek().is(Token.Kind.RBRACE)) break;
                    Term k = term();
                    expect(Token.Kind.COLON, "':' between object key and value");
                    entries.add(new KeyValue(k, term()));
                }
                noBar = saveBar;
                expect(Token.Kind.RBRACE, "'}' closing the object");
                return new ObjectTerm(entries, loc(open));
            }
            noBar--;
            if (peek().is(Token.Kind.BAR)) {
                next();
                Body body = comprBody(Token.Kind.RBRACE, open);
                return new SetCompr(first, body, loc(open));
            }
            int saveBar = noBar;
            noBar = 0;
            List<Term> items = new ArrayList<>();
            items.add(first);
            while (accept(Token.Kind.COMMA)) {
                if (peek().is(Token.Kind.RBRACE)) break;
                items.add(term());
            }
            noBar = saveBar;
            expect(Token.Kind.RBRACE, "'}' closing the set");
            return new SetTerm(items, loc(open));
        } finally {
            depth--;
        }
    }

    private Body comprBody(Token.Kind close, Token open) {
        int saveBar = noBar;
        noBar = 0;
        List<Literal> lits = new ArrayList<>();
        while (!peek().is(close)) {
            if (peek().is(Token.Kind.EOF)) throw error(open, "unclosed comprehension");
            lits.add(literal());
            if (accept(Token.Kind.SEMI)) continue;
            if (!peek().is(close) && !peek().newlineBefore())
                throw error(peek(), "unexpected " + describe(peek()) + " in comprehension body");
        }
        next();
        noBar = saveBar;
        if (lits.isEmpty()) throw error(open, "empty comprehension body");
        return new Body(lits, loc(open));
    }

    private Term template(Token t) {
        String raw = t.text();
        List<Object> parts = new ArrayList<>();
        StringBuilder lit = new StringBuilder();
        int i = 0;
        while (i < raw.length()) {
            char c = raw.charAt(i);
            if (c == '\\' && i + 1 < raw.length() && raw.charAt(i + 1) == '{') {
                lit.append('{');
                i += 2;
            } else if (c == '{') {
                int d = 1, j = i + 1;
                boolean inStr = false;
                while (j < raw.length() && d > 0) {
                    char x = raw.charAt(j);
                    if (inStr) {
                        if (x == '\\') j++;
                        else if (x == '"') inStr = false;
                    } else if (x == '"') inStr = true;
                    else if (x == '{') d++;
                    else if (x == '}') d--;
                    j++;
                }
                if (d != 0) throw error(t, "unclosed '{' in template string");
                String inner = raw.substring(i + 1, j - 1);
                if (!lit.isEmpty()) {
                    parts.add(lit.toString());
                    lit.setLength(0);
                }
                Parser sub = new Parser(file, inner);
                sub.v1 = v1;
                Term x = sub.term();
                List<With> ws = sub.withs();
                if (!sub.peek().is(Token.Kind.EOF)) throw error(t, "template expression must be a single term: {" + inner + "}");
                parts.add(ws.isEmpty() ? x : new Ast.TemplateWith(x, ws, loc(t)));
                i = j;
            } else {
                lit.append(c);
                i++;
            }
        }
        if (!lit.isEmpty()) parts.add(lit.toString());
        return new TemplateString(parts, loc(t));
    }

    private Value number(Token t, String text) {
        try {
            return NumberValue.of(new BigDecimal(text));
        } catch (NumberFormatException | ArithmeticException e) {
            throw error(t, "invalid number " + text);
        }
    }

    // ---- helpers

    private void enter(Token t) {
        if (++depth > MAX_NESTING) {
            depth = Integer.MIN_VALUE / 2; // stop further nesting checks from cascading
            throw error(t, "nesting deeper than " + MAX_NESTING + " levels; simplify the policy");
        }
    }

    private Token peek() {
        return toks.get(p);
    }

    private Token next() {
        Token t = toks.get(p);
        if (!t.is(Token.Kind.EOF)) p++;
        return t;
    }

    private boolean accept(Token.Kind k) {
        if (peek().is(k)) {
            next();
            return true;
        }
        return false;
    }

    private Token expect(Token.Kind k, String what) {
        Token t = peek();
        if (!t.is(k)) throw error(t, "expected " + what + ", found " + describe(t));
        return next();
    }

    private String describe(Token t) {
        return t.is(Token.Kind.EOF) ? "end of input" : "'" + t.text() + "'";
    }

    private Ast.Location loc(Token t) {
        return new Ast.Location(file, t.line(), t.column());
    }

    /** Keywords a module may import from future.keywords: OPA's four, and the experimental and, or and not. */
    private static final List<String> IMPORTABLE_KEYWORDS = List.of("contains", "every", "if", "in", "and", "or", "not");

    /**
     * {@code future} and {@code rego} imports name OPA's language switches; one it does not know
     * (a misspelt keyword, {@code rego.v2}) is an error, as in OPA, instead of a module that
     * silently parses without the switch its author asked for.
     */
    private RegoException importError(Token at, String root, Ref path) {
        String written = root + path.path().stream().map(t -> t instanceof Scalar sc && sc.value() instanceof StringValue sv ? "." + sv.value() : "[?]")
                .reduce("", String::concat);
        if (root.equals("rego")) return error(at, "invalid import `" + written + "`, must be `rego.v1`");
        return error(at, "invalid import `" + written + "`, must be `future.keywords` or `future.keywords.NAME` with NAME one of "
                + IMPORTABLE_KEYWORDS);
    }

    private void checkImportPath(Token at, String root, Ref path) {
        List<Term> parts = path.path();
        if (root.equals("rego")) {
            boolean v1Import = parts.size() == 1 && parts.getFirst() instanceof Scalar s && s.value().equals(Value.of("v1"));
            if (!v1Import) throw importError(at, root, path);
        } else if (root.equals("future")) {
            boolean keywords = !parts.isEmpty() && parts.getFirst() instanceof Scalar s && s.value().equals(Value.of("keywords"));
            boolean known = parts.size() == 1 || (parts.size() == 2 && parts.get(1) instanceof Scalar k && k.value() instanceof StringValue kv
                    && IMPORTABLE_KEYWORDS.contains(kv.value()));
            if (!keywords || !known) throw importError(at, root, path);
        }
    }

    private RegoException error(Token t, String msg) {
        return new RegoException("rego_parse_error", file + ":" + t.line() + ":" + t.column(), msg);
    }
}
