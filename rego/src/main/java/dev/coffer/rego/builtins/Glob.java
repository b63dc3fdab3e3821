package dev.coffer.rego.builtins;

import com.google.re2j.Pattern;
import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.NullValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/** glob.match and glob.quote_meta with gobwas/glob syntax: * ** ? [..] [!..] {a,b} and \ escapes. */
final class Glob {
    private Glob() {
    }

    private static final ConcurrentHashMap<String, Pattern> CACHE = new ConcurrentHashMap<>();

    static void register(Builtins.Registry r) {
        r.add("glob.quote_meta", 1, (c, a) -> {
            String s = Args.str("glob.quote_meta", a, 0);
            StringBuilder sb = new StringBuilder();
            for (char ch : s.toCharArray()) {
                if ("*?\\[]{}".indexOf(ch) >= 0) sb.append('\\');
                sb.append(ch);
            }
            return Value.of(sb.toString());
        });
        r.add("glob.match", 3, (c, a) -> {
            String pat = Args.str("glob.match", a, 0);
            List<String> delims = new ArrayList<>();
            if (a[1] instanceof ArrayValue arr) {
                for (Value v : arr.items()) {
                    if (!(v instanceof StringValue s)) throw Args.typeErr("glob.match", 1, "array[string]", a[1]);
                    delims.add(s.value());
                }
                if (delims.isEmpty()) delims.add(".");
            } else if (!(a[1] instanceof NullValue)) {
                throw Args.typeErr("glob.match", 1, "array[string]", a[1]);
            }
            String s = Args.str("glob.match", a, 2);
            String key = pat + "\u0000" + String.join("\u0000", delims);
            Pattern p = CACHE.get(key);
            if (p == null) {
                p = Pattern.compile(toRegex(pat, delims), Pattern.DOTALL);
                if (CACHE.size() > 10_000) CACHE.clear();
                CACHE.put(key, p);
            }
            return Value.of(p.matcher(s).matches());
        });
    }

    static String toRegex(String g, List<String> delims) {
        StringBuilder notDelim = new StringBuilder("[^");
        for (String d : delims) for (char ch : d.toCharArray()) notDelim.append(escapeClass(ch));
        notDelim.append(']');
        String any = delims.isEmpty() ? "." : notDelim.toString();
        StringBuilder re = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < g.length(); i++) {
            char ch = g.charAt(i);
            switch (ch) {
                case '\\' -> {
                    if (i + 1 >= g.length()) throw BuiltinException.builtin("glob.match", "unexpected end of input");
                    re.append(Pattern.quote(String.valueOf(g.charAt(++i))));
                }
                case '*' -> {
                    if (i + 1 < g.length() && g.charAt(i + 1) == '*') {
                        re.append(".*");
                        i++;
                    } else re.append(any).append('*');
                }
                case '?' -> re.append(any);
                case '[' -> {
                    int end = g.indexOf(']', i + 1);
                    if (end < 0) throw BuiltinException.builtin("glob.match", "unexpected end of input");
                    String body = g.substring(i + 1, end);
                    boolean neg = body.startsWith("!");
                    if (neg) body = body.substring(1);
                    re.append('[').append(neg ? "^" : "");
                    for (int j = 0; j < body.length(); j++) {
                        char bc = body.charAt(j);
                        if (bc == '-' && j > 0 && j < body.length() - 1) re.append('-');
                        else re.append(escapeClass(bc));
                    }
                    re.append(']');
                    i = end;
                }
                case '{' -> {
                    depth++;
                    re.append("(?:");
                }
                case '}' -> {
                    if (depth == 0) re.append("\\}");
                    else {
                        depth--;
                        re.append(')');
                    }
                }
                case ',' -> re.append(depth > 0 ? "|" : ",");
                default -> re.append(Pattern.quote(String.valueOf(ch)));
            }
        }
        if (depth > 0) throw BuiltinException.builtin("glob.match", "unexpected end of input");
        return re.toString();
    }

    private static String escapeClass(char ch) {
        return "\\^]-[".indexOf(ch) >= 0 ? "\\" + ch : String.valueOf(ch);
    }
}
