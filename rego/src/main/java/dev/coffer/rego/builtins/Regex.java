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
    private static final ConcurrentHashMap<String, Pattern> CACHE = new ConcurrentHashMap<>();

    static Pattern compile(String fn, String re) {
        Pattern p = CACHE.get(re);
        if (p != null) return p;
        try {
            p = Pattern.compile(re);
        } catch (PatternSyntaxException e) {
            throw BuiltinException.builtin(fn, "error parsing regexp: " + e.getMessage());
        }
        if (CACHE.size() > 10_000) CACHE.clear();
        CACHE.put(re, p);
        return p;
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
        Pattern p = compile("regex.match", re);
        String s = Args.str("regex.match", a, 1);
        MatchKey key = new MatchKey(re, s);
        Object known = c.cache().get(key);
        if (known != null) return (Value) known;
        Value v = Value.of(p.matcher(s).find());
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
