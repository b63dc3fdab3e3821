package dev.coffer.rego.builtins;

import com.google.re2j.Matcher;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.concurrent.ConcurrentHashMap;

/** Regular expressions with RE2 semantics (re2j), as OPA's Go regexp. */
final class Regex {
    private Regex() {
    }

    /** Compiled patterns are shared across evaluations; the cache is bounded by clearing. */
    private static final ConcurrentHashMap<String, Compiled> CACHE = new ConcurrentHashMap<>();

    /**
     * A compiled pattern, the literal text every match of it starts the subject with (empty when
     * there is none to be sure of), and, for the simplest anchored patterns, what follows that text
     * ({@link Tail}; null otherwise). Policies anchor their patterns ({@code ^NAME=.*$}: both
     * frameworks' anchor_pattern makes every env and user rule so, and ACI's default user rule is
     * {@code .*}) and try each against every variable: a subject without the prefix is refused by a
     * startsWith, and a pattern that is a literal and a tail is decided without the RE2 machine,
     * which costs about 40 ns a character.
     */
    record Compiled(Pattern pattern, String anchoredPrefix, Tail tail) {
        /** The answer of {@code find} where it does not need RE2, else null. */
        Boolean decide(String s) {
            if (!s.startsWith(anchoredPrefix)) return Boolean.FALSE;
            return tail == null ? null : tail.matches(s, anchoredPrefix.length());
        }
    }

    /**
     * What may follow the literal of a pattern {@code ^literal tail}. RE2 without flags: {@code .}
     * matches any character but a newline, and {@code $} only at the end of the text (not before a
     * final newline, unlike Perl).
     */
    enum Tail {
        NOTHING(""), END("$"), ANY(".*"), ANY_TO_END(".*$"), SOME(".+"), SOME_TO_END(".+$");

        final String text;

        Tail(String text) {
            this.text = text;
        }

        /** Whether s, which starts with the literal, matches; {@code at} is where the literal ends. */
        boolean matches(String s, int at) {
            return switch (this) {
                case NOTHING, ANY -> true;
                case END -> s.length() == at;
                case ANY_TO_END -> s.indexOf('\n', at) < 0;
                case SOME -> s.length() > at && s.charAt(at) != '\n';
                case SOME_TO_END -> s.length() > at && s.indexOf('\n', at) < 0;
            };
        }

        static Tail of(String rest) {
            for (Tail t : values()) if (t.text.equals(rest)) return t;
            return null;
        }
    }

    static Pattern compile(String fn, String re) {
        return compiled(fn, re).pattern();
    }

    static Compiled compiled(String fn, String re) {
        Compiled c = CACHE.get(re);
        if (c != null) return c;
        try {
            c = new Compiled(Pattern.compile(re), anchoredPrefix(re), tail(re));
        } catch (PatternSyntaxException e) {
            throw BuiltinException.builtin(fn, "error parsing regexp: " + e.getMessage());
        }
        if (CACHE.size() > 10_000) CACHE.clear();
        CACHE.put(re, c);
        return c;
    }

    /** RE2's metacharacters: a literal run ends at the first of them. */
    private static final String META = "\\.+*?()[]{}^$|";

    /** Where the literal run after a leading {@code ^} ends, or -1 for a pattern without a usable anchor. */
    private static int literalEnd(String re) {
        if (!re.startsWith("^") || re.indexOf('|') >= 0) return -1;
        int i = 1;
        while (i < re.length() && META.indexOf(re.charAt(i)) < 0) i++;
        return i;
    }

    /**
     * The literal characters that a (syntactically valid) pattern beginning with {@code ^} requires
     * at the start of the subject: {@code ^} outside multi-line mode matches only there, and a plain
     * character matches only itself. Conservative: empty for a pattern that does not start with
     * {@code ^} (flags such as {@code (?i)} or {@code (?m)} come before it), that has an alternation
     * anywhere (its other branch needs no prefix), and without the last character when a quantifier
     * that allows zero repetitions ({@code * ? {}) follows it.
     */
    static String anchoredPrefix(String re) {
        int i = literalEnd(re);
        if (i < 0) return "";
        int end = i;
        if (i < re.length() && end > 1) {
            char q = re.charAt(i);
            if (q == '*' || q == '?' || q == '{') {
                end--;
                // a quantifier applies to a whole code point, not only its low surrogate
                if (end > 1 && Character.isLowSurrogate(re.charAt(end)) && Character.isHighSurrogate(re.charAt(end - 1))) end--;
            }
        }
        return re.substring(1, end);
    }

    /** For {@code ^literal} followed by exactly one of the {@link Tail}s, that tail; else null (RE2 decides). */
    static Tail tail(String re) {
        int i = literalEnd(re);
        return i < 0 ? null : Tail.of(re.substring(i));
    }

    /**
     * A (pattern, string) pair already matched in this evaluation. Frameworks try the same
     * environment variables against the same rules in several of their rules (Coffer's for the
     * variables no exact rule covers and for required rules; Microsoft's for every rule and every
     * variable), and an RE2 match that succeeds costs microseconds; the answer cannot change
     * within an evaluation, so it is kept for the evaluation (never across evaluations).
     */
    private static final class MatchKey {
        final String pattern;
        final String subject;

        MatchKey(String pattern, String subject) {
            this.pattern = pattern;
            this.subject = subject;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MatchKey m && m.pattern.equals(pattern) && m.subject.equals(subject);
        }

        @Override
        public int hashCode() {
            return pattern.hashCode() * 31 + subject.hashCode();
        }
    }

    private static Value match(BuiltinContext c, Value[] a) {
        // operands checked and the pattern compiled in the order they always were: a bad pattern is reported first
        String re = Args.str("regex.match", a, 0);
        Compiled p = compiled("regex.match", re);
        String s = Args.str("regex.match", a, 1);
        Boolean quick = p.decide(s);
        if (quick != null) return Value.of(quick);
        MatchKey key = new MatchKey(re, s);
        Object known = c.cache().get(key);
        if (known != null) return (Value) known;
        Value v = Value.of(p.pattern().matcher(s).find());
        c.cache().put(key, v);
        return v;
    }

    static void register(Builtins.Registry r) {
        r.add("regex.globs_match", 2, (c, a) -> Value.of(GlobIntersection.intersect("regex.globs_match",
                Args.str("regex.globs_match", a, 0), Args.str("regex.globs_match", a, 1))));
        r.add("regex.match", 2, (c, a) -> match(c, a));
        r.add("re_match", 2, (c, a) -> Value.of(compile("re_match", Args.str("re_match", a, 0)).matcher(Args.str("re_match", a, 1)).find()));
        r.add("regex.is_valid", 1, (c, a) -> {
            if (!(a[0] instanceof StringValue s)) return Value.of(false);
            try {
                Pattern.compile(s.value());
                return Value.of(true);
            } catch (PatternSyntaxException e) {
                return Value.of(false);
            }
        });
        r.add("regex.find_n", 3, (c, a) -> {
            Matcher m = compile("regex.find_n", Args.str("regex.find_n", a, 0)).matcher(Args.str("regex.find_n", a, 1));
            int n = Args.smallInt("regex.find_n", a, 2);
            ArrayList<Value> out = new ArrayList<>();
            while ((n < 0 || out.size() < n) && m.find()) out.add(Value.of(m.group()));
            return Value.wrapList(out);
        });
        r.add("regex.find_all_string_submatch_n", 3, (c, a) -> {
            Matcher m = compile("regex.find_all_string_submatch_n", Args.str("regex.find_all_string_submatch_n", a, 0))
                    .matcher(Args.str("regex.find_all_string_submatch_n", a, 1));
            int n = Args.smallInt("regex.find_all_string_submatch_n", a, 2);
            ArrayList<Value> out = new ArrayList<>();
            while ((n < 0 || out.size() < n) && m.find()) {
                ArrayList<Value> groups = new ArrayList<>();
                for (int g = 0; g <= m.groupCount(); g++) groups.add(Value.of(m.group(g) == null ? "" : m.group(g)));
                out.add(Value.wrapList(groups));
            }
            return Value.wrapList(out);
        });
        r.add("regex.split", 2, (c, a) -> {
            String s = Args.str("regex.split", a, 1);
            Matcher m = compile("regex.split", Args.str("regex.split", a, 0)).matcher(s);
            ArrayList<Value> out = new ArrayList<>();
            int last = 0;
            while (m.find()) {
                if (m.end() == 0 && m.start() == 0 && s.isEmpty()) break;
                if (m.start() == m.end() && m.start() == 0) continue;
                out.add(Value.of(s.substring(last, m.start())));
                last = m.end();
            }
            out.add(Value.of(s.substring(last)));
            return Value.wrapList(out);
        });
        r.add("regex.replace", 3, (c, a) -> {
            String s = Args.str("regex.replace", a, 0);
            Pattern p = compile("regex.replace", Args.str("regex.replace", a, 1));
            String rep = Args.str("regex.replace", a, 2);
            return Value.of(replaceAll(p, s, rep));
        });
        r.add("regex.template_match", 4, (c, a) -> {
            String tmpl = Args.str("regex.template_match", a, 0), s = Args.str("regex.template_match", a, 1);
            String open = Args.str("regex.template_match", a, 2), close = Args.str("regex.template_match", a, 3);
            StringBuilder re = new StringBuilder("^");
            int i = 0;
            while (i < tmpl.length()) {
                int o = tmpl.indexOf(open, i);
                if (o < 0) {
                    re.append(Pattern.quote(tmpl.substring(i)));
                    break;
                }
                re.append(Pattern.quote(tmpl.substring(i, o)));
                int e = tmpl.indexOf(close, o + open.length());
                if (e < 0) throw BuiltinException.builtin("regex.template_match", "unbalanced delimiters in template");
                re.append('(').append(tmpl, o + open.length(), e).append(')');
                i = e + close.length();
            }
            re.append('$');
            return Value.of(compile("regex.template_match", re.toString()).matcher(s).find());
        });
    }

    /** Go's ReplaceAllString: $1, ${1}, $name expand; $$ is a dollar. */
    private static String replaceAll(Pattern p, String s, String rep) {
        Matcher m = p.matcher(s);
        StringBuilder sb = new StringBuilder();
        int last = 0;
        while (m.find()) {
            sb.append(s, last, m.start());
            expand(m, rep, sb);
            last = m.end();
        }
        if (last <= s.length()) sb.append(s, Math.min(last, s.length()), s.length());
        return sb.toString();
    }

    private static void expand(Matcher m, String rep, StringBuilder sb) {
        int i = 0;
        while (i < rep.length()) {
            char ch = rep.charAt(i);
            if (ch != '$' || i + 1 >= rep.length()) {
                sb.append(ch);
                i++;
                continue;
            }
            char n = rep.charAt(i + 1);
            if (n == '$') {
                sb.append('$');
                i += 2;
                continue;
            }
            String name;
            int j;
            if (n == '{') {
                int close = rep.indexOf('}', i + 2);
                if (close < 0) {
                    sb.append(ch);
                    i++;
                    continue;
                }
                name = rep.substring(i + 2, close);
                j = close + 1;
            } else {
                j = i + 1;
                while (j < rep.length() && (Character.isLetterOrDigit(rep.charAt(j)) || rep.charAt(j) == '_')) j++;
                name = rep.substring(i + 1, j);
            }
            if (name.isEmpty()) {
                sb.append(ch);
                i++;
                continue;
            }
            String g = null;
            try {
                if (name.chars().allMatch(Character::isDigit)) {
                    int gi = Integer.parseInt(name);
                    if (gi <= m.groupCount()) g = m.group(gi);
                } else {
                    g = m.group(name);
                }
            } catch (RuntimeException e) {
                g = null;
            }
            if (g != null) sb.append(g);
            i = j;
        }
    }

}
