package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.BooleanValue;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.NullValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.SetValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** String built-ins, sprintf (Go fmt verbs) and Rego's value formatting. */
public final class Strings {
    private Strings() {
    }

    static void register(Builtins.Registry r) {
        r.add("concat", 2, (c, a) -> {
            String sep = Args.str("concat", a, 0);
            StringBuilder sb = new StringBuilder();
            boolean first = true;
            for (Value v : Args.collection("concat", a, 1)) {
                if (!(v instanceof StringValue s)) throw Args.typeErr("concat", 1, "one of {array, set}", a[1]);
                if (!first) sb.append(sep);
                first = false;
                sb.append(s.value());
            }
            return Value.of(sb.toString());
        });
        r.add("contains", 2, (c, a) -> Value.of(Args.str("contains", a, 0).contains(Args.str("contains", a, 1))));
        r.add("startswith", 2, (c, a) -> Value.of(Args.str("startswith", a, 0).startsWith(Args.str("startswith", a, 1))));
        r.add("endswith", 2, (c, a) -> Value.of(Args.str("endswith", a, 0).endsWith(Args.str("endswith", a, 1))));
        r.add("lower", 1, (c, a) -> Value.of(Args.str("lower", a, 0).toLowerCase(java.util.Locale.ROOT)));
        r.add("upper", 1, (c, a) -> Value.of(Args.str("upper", a, 0).toUpperCase(java.util.Locale.ROOT)));
        r.add("indexof", 2, (c, a) -> {
            String s = Args.str("indexof", a, 0), sub = Args.str("indexof", a, 1);
            int i = s.indexOf(sub);
            return NumberValue.of(i < 0 ? -1 : s.codePointCount(0, i));
        });
        r.add("indexof_n", 2, (c, a) -> {
            String s = Args.str("indexof_n", a, 0), sub = Args.str("indexof_n", a, 1);
            ArrayList<Value> out = new ArrayList<>();
            int i = s.indexOf(sub);
            while (i >= 0) {
                out.add(NumberValue.of(s.codePointCount(0, i)));
                i = s.indexOf(sub, i + 1);
            }
            return Value.wrapList(out);
        });
        r.add("replace", 3, (c, a) -> Value.of(goReplace(Args.str("replace", a, 0), Args.str("replace", a, 1), Args.str("replace", a, 2))));
        r.add("strings.replace_n", 2, (c, a) -> {
            ObjectValue pats = Args.obj("strings.replace_n", a, 0);
            String s = Args.str("strings.replace_n", a, 1);
            List<String[]> pairs = new ArrayList<>();
            for (Map.Entry<Value, Value> e : pats.map().entrySet()) {
                if (!(e.getKey() instanceof StringValue k)) throw BuiltinException.type("strings.replace_n", "operand 1 non-string key found in pattern object");
                if (!(e.getValue() instanceof StringValue v)) throw BuiltinException.type("strings.replace_n", "operand 1 non-string value found in pattern object");
                pairs.add(new String[]{k.value(), v.value()});
            }
            // Go's strings.NewReplacer, which OPA gives the keys in sorted order: at each position the
            // first matching old string wins. An empty old string matches at every position, the end of
            // the text included, but once: right after it the other old strings get their turn there.
            StringBuilder sb = new StringBuilder();
            int i = 0;
            boolean emptyMatchedHere = false;
            while (i <= s.length()) {
                String[] hit = null;
                for (String[] p : pairs) {
                    if (p[0].isEmpty() ? !emptyMatchedHere : s.startsWith(p[0], i)) {
                        hit = p;
                        break;
                    }
                }
                emptyMatchedHere = hit != null && hit[0].isEmpty();
                if (hit != null) {
                    sb.append(hit[1]);
                    i += hit[0].length();
                } else if (i < s.length()) {
                    int cp = s.codePointAt(i);
                    sb.appendCodePoint(cp);
                    i += Character.charCount(cp);
                } else {
                    break;
                }
            }
            return Value.of(sb.toString());
        });
        r.add("split", 2, (c, a) -> {
            String s = Args.str("split", a, 0), sep = Args.str("split", a, 1);
            ArrayList<Value> out = new ArrayList<>();
            if (sep.isEmpty()) {
                s.codePoints().forEach(cp -> out.add(Value.of(new String(Character.toChars(cp)))));
                return Value.wrapList(out);
            }
            int i = 0, j;
            while ((j = s.indexOf(sep, i)) >= 0) {
                out.add(Value.of(s.substring(i, j)));
                i = j + sep.length();
            }
            out.add(Value.of(s.substring(i)));
            return Value.wrapList(out);
        });
        r.add("strings.split_n", 3, (c, a) -> {
            String s = Args.str("strings.split_n", a, 0), sep = Args.str("strings.split_n", a, 1);
            int n = Args.smallInt("strings.split_n", a, 2);
            List<Value> all = new ArrayList<>();
            if (sep.isEmpty()) {
                s.codePoints().forEach(cp -> all.add(Value.of(new String(Character.toChars(cp)))));
            } else {
                int i = 0, j;
                while ((j = s.indexOf(sep, i)) >= 0) {
                    all.add(Value.of(s.substring(i, j)));
                    i = j + sep.length();
                }
                all.add(Value.of(s.substring(i)));
            }
            // n > 0: the first n parts; n < 0: the last -n parts; 0: none
            List<Value> out = n >= 0 ? all.subList(0, Math.min(n, all.size())) : all.subList(Math.max(0, all.size() + n), all.size());
            return Value.array(out);
        });
        r.add("substring", 3, (c, a) -> {
            String s = Args.str("substring", a, 0);
            int start = Args.smallInt("substring", a, 1), len = Args.smallInt("substring", a, 2);
            if (start < 0) throw BuiltinException.builtin("substring", "negative offset");
            int[] cps = s.codePoints().toArray();
            if (start >= cps.length) return StringValue.EMPTY;
            int end = len < 0 || start + (long) len > cps.length ? cps.length : start + len;
            return Value.of(new String(cps, start, end - start));
        });
        r.add("trim", 2, (c, a) -> Value.of(trim(Args.str("trim", a, 0), Args.str("trim", a, 1), true, true)));
        r.add("trim_left", 2, (c, a) -> Value.of(trim(Args.str("trim_left", a, 0), Args.str("trim_left", a, 1), true, false)));
        r.add("trim_right", 2, (c, a) -> Value.of(trim(Args.str("trim_right", a, 0), Args.str("trim_right", a, 1), false, true)));
        r.add("trim_space", 1, (c, a) -> Value.of(Args.str("trim_space", a, 0).strip()));
        r.add("trim_prefix", 2, (c, a) -> {
            String s = Args.str("trim_prefix", a, 0), p = Args.str("trim_prefix", a, 1);
            return Value.of(s.startsWith(p) ? s.substring(p.length()) : s);
        });
        r.add("trim_suffix", 2, (c, a) -> {
            String s = Args.str("trim_suffix", a, 0), p = Args.str("trim_suffix", a, 1);
            return Value.of(s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s);
        });
        r.add("strings.reverse", 1, (c, a) -> Value.of(new StringBuilder(Args.str("strings.reverse", a, 0)).reverse().toString()));
        r.add("strings.count", 2, (c, a) -> {
            String s = Args.str("strings.count", a, 0), sub = Args.str("strings.count", a, 1);
            if (sub.isEmpty()) return NumberValue.of(s.codePointCount(0, s.length()) + 1);
            int n = 0, i = 0;
            while ((i = s.indexOf(sub, i)) >= 0) {
                n++;
                i += sub.length();
            }
            return NumberValue.of(n);
        });
        r.add("strings.any_prefix_match", 2, (c, a) -> {
            for (String s : stringsOf("strings.any_prefix_match", a, 0))
                for (String p : stringsOf("strings.any_prefix_match", a, 1)) if (s.startsWith(p)) return BooleanValue.TRUE;
            return BooleanValue.FALSE;
        });
        r.add("strings.any_suffix_match", 2, (c, a) -> {
            for (String s : stringsOf("strings.any_suffix_match", a, 0))
                for (String p : stringsOf("strings.any_suffix_match", a, 1)) if (s.endsWith(p)) return BooleanValue.TRUE;
            return BooleanValue.FALSE;
        });
        r.add("format_int", 2, (c, a) -> {
            BigDecimal n = Args.num("format_int", a, 0);
            int base = Args.smallInt("format_int", a, 1);
            if (base != 2 && base != 8 && base != 10 && base != 16)
                throw BuiltinException.type("format_int", "operand 2 must be one of {2, 8, 10, 16}");
            return Value.of(n.setScale(0, RoundingMode.DOWN).toBigInteger().toString(base));
        });
        r.add("to_number", 1, (c, a) -> switch (a[0]) {
            case NumberValue n -> n;
            case NullValue n -> NumberValue.of(0);
            case BooleanValue b -> NumberValue.of(b.value() ? 1 : 0);
            case StringValue s -> {
                String t = s.value();
                String bare = t.toLowerCase(java.util.Locale.ROOT).replaceFirst("^[+-]", "");
                if (bare.equals("nan") || bare.equals("inf") || bare.equals("infinity"))
                    throw BuiltinException.type("to_number", "operand 1 must be a finite number but got " + t);
                if (!t.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?"))
                    throw BuiltinException.builtin("to_number", "invalid syntax");
                yield NumberValue.of(new BigDecimal(t.startsWith("+") ? t.substring(1) : t));
            }
            default -> throw Args.typeErr("to_number", 0, "one of {boolean, null, number, string}", a[0]);
        });
        r.add("sprintf", 2, (c, a) -> Value.of(sprintf(Args.str("sprintf", a, 0), Args.arr("sprintf", a, 1).items())));
        r.add("strings.render_template", 2, (c, a) -> Value.of(renderTemplate(Args.str("strings.render_template", a, 0), Args.obj("strings.render_template", a, 1))));
    }

    private static List<String> stringsOf(String fn, Value[] a, int i) {
        List<String> out = new ArrayList<>();
        if (a[i] instanceof StringValue s) {
            out.add(s.value());
            return out;
        }
        if (!(a[i] instanceof ArrayValue) && !(a[i] instanceof SetValue)) throw Args.typeErr(fn, i, "one of {string, set, array}", a[i]);
        for (Value v : Args.collection(fn, a, i)) {
            if (!(v instanceof StringValue s))
                throw BuiltinException.type(fn, "operand " + (i + 1) + " must be " + (a[i] instanceof SetValue ? "set" : "array") + " of strings but got " + a[i].typeName() + " containing " + v.typeName());
            out.add(s.value());
        }
        return out;
    }

    static String goReplace(String s, String old, String rep) {
        if (old.isEmpty()) {
            // Go inserts the replacement before every rune and at the end
            StringBuilder sb = new StringBuilder(rep);
            s.codePoints().forEach(cp -> sb.appendCodePoint(cp).append(rep));
            return sb.toString();
        }
        return s.replace(old, rep);
    }

    private static String trim(String s, String cut, boolean left, boolean right) {
        int start = 0, end = s.length();
        if (left) while (start < end && cut.indexOf(s.charAt(start)) >= 0) start++;
        if (right) while (end > start && cut.indexOf(s.charAt(end - 1)) >= 0) end--;
        return s.substring(start, end);
    }

    private static String renderTemplate(String tmpl, ObjectValue vars) {
        return GoTemplate.render(tmpl, vars);
    }

    /** Formats a value the way OPA prints terms: strings quoted, sets as {a, b}. */
    public static String formatValue(Value v) {
        StringBuilder sb = new StringBuilder();
        format(v, sb);
        return sb.toString();
    }

    private static void format(Value v, StringBuilder sb) {
        switch (v) {
            case StringValue s -> Json.quote(s.value(), sb);
            case ArrayValue a -> {
                sb.append('[');
                for (int i = 0; i < a.size(); i++) {
                    if (i > 0) sb.append(", ");
                    format(a.get(i), sb);
                }
                sb.append(']');
            }
            case SetValue s -> {
                if (s.size() == 0) {
                    sb.append("set()");
                    return;
                }
                sb.append('{');
                boolean first = true;
                for (Value x : s.items()) {
                    if (!first) sb.append(", ");
                    first = false;
                    format(x, sb);
                }
                sb.append('}');
            }
            case ObjectValue o -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<Value, Value> e : o.map().entrySet()) {
                    if (!first) sb.append(", ");
                    first = false;
                    format(e.getKey(), sb);
                    sb.append(": ");
                    format(e.getValue(), sb);
                }
                sb.append('}');
            }
            default -> sb.append(v);
        }
    }

    private static final java.math.BigDecimal MAX_DOUBLE = new java.math.BigDecimal(Double.MAX_VALUE);

    /** A subset of Go's fmt: flags, width, precision and the verbs s v d f e g x X o b q t T %. */
    static String sprintf(String fmt, List<Value> args) {
        StringBuilder sb = new StringBuilder();
        int ai = 0;
        int i = 0;
        while (i < fmt.length()) {
            char c = fmt.charAt(i);
            if (c != '%') {
                sb.append(c);
                i++;
                continue;
            }
            i++;
            if (i >= fmt.length()) {
                sb.append("%!(NOVERB)");
                break;
            }
            StringBuilder flags = new StringBuilder();
            while (i < fmt.length() && "+-# 0".indexOf(fmt.charAt(i)) >= 0) flags.append(fmt.charAt(i++));
            int width = -1, prec = -1;
            int ws = i;
            while (i < fmt.length() && Character.isDigit(fmt.charAt(i))) i++;
            if (i > ws) width = Integer.parseInt(fmt.substring(ws, i));
            if (i < fmt.length() && fmt.charAt(i) == '.') {
                i++;
                int ps = i;
                while (i < fmt.length() && Character.isDigit(fmt.charAt(i))) i++;
                prec = i > ps ? Integer.parseInt(fmt.substring(ps, i)) : 0;
            }
            if (i >= fmt.length()) {
                sb.append("%!(NOVERB)");
                break;
            }
            char verb = fmt.charAt(i++);
            if (verb == '%') {
                sb.append('%');
                continue;
            }
            if (ai >= args.size()) {
                sb.append("%!").append(verb).append("(MISSING)");
                continue;
            }
            Value arg = args.get(ai++);
            String s = formatOne(verb, flags.toString(), prec, arg);
            sb.append(pad(s, width, flags.indexOf("-") >= 0, flags.indexOf("0") >= 0 && "dfeEgGxXob".indexOf(verb) >= 0));
        }
        if (ai < args.size()) {
            sb.append("%!(EXTRA ");
            for (int j = ai; j < args.size(); j++) {
                if (j > ai) sb.append(", ");
                Value v = args.get(j);
                sb.append(goTypeName(v)).append('=').append(v instanceof StringValue s ? s.value() : formatValue(v));
            }
            sb.append(')');
        }
        return sb.toString();
    }

    private static String goTypeName(Value v) {
        return switch (v) {
            case StringValue s -> "string";
            case NumberValue n -> n.isInteger() ? "int" : "float64";
            case BooleanValue b -> "bool";
            default -> "ast." + Character.toUpperCase(v.typeName().charAt(0)) + v.typeName().substring(1);
        };
    }

    private static String pad(String s, int width, boolean left, boolean zero) {
        if (width < 0 || s.length() >= width) return s;
        String fill = (zero && !left ? "0" : " ").repeat(width - s.length());
        if (zero && !left && (s.startsWith("-") || s.startsWith("+"))) return s.charAt(0) + fill + s.substring(1);
        return left ? s + fill : fill + s;
    }

    private static String formatOne(char verb, String flags, int prec, Value arg) {
        boolean plus = flags.indexOf('+') >= 0;
        switch (verb) {
            case 'v', 's' -> {
                String s = arg instanceof StringValue sv ? sv.value() : formatValue(arg);
                // Go prints a number beyond float64's range as its literal text (2e308), not as 309 digits
                if (arg instanceof NumberValue n && n.value().abs().compareTo(MAX_DOUBLE) > 0 && n.value().scale() < 0)
                    s = n.value().unscaledValue() + "e" + (-n.value().scale());
                if (verb == 's' && prec >= 0 && s.length() > prec) s = s.substring(0, prec);
                return s;
            }
            case 'q' -> {
                if (arg instanceof StringValue sv) return goQuote(sv.value());
                return "%!q(" + goTypeName(arg) + "=" + formatValue(arg) + ")";
            }
            case 't' -> {
                if (arg instanceof BooleanValue b) return Boolean.toString(b.value());
                return "%!t(" + goTypeName(arg) + "=" + formatValue(arg) + ")";
            }
            case 'T' -> {
                return goTypeName(arg);
            }
            case 'd' -> {
                if (arg instanceof NumberValue n && n.isInteger()) {
                    String s = n.value().toBigIntegerExact().toString();
                    return plus && n.value().signum() >= 0 ? "+" + s : s;
                }
                return "%!d(" + goTypeName(arg) + "=" + (arg instanceof StringValue sv ? sv.value() : formatValue(arg)) + ")";
            }
            case 'x', 'X', 'o', 'b' -> {
                int base = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
                if (arg instanceof NumberValue n && n.isInteger()) {
                    String s = n.value().toBigIntegerExact().toString(base);
                    return verb == 'X' ? s.toUpperCase(java.util.Locale.ROOT) : s;
                }
                if (arg instanceof StringValue sv && base == 16) {
                    StringBuilder sb = new StringBuilder();
                    for (byte b : sv.value().getBytes(java.nio.charset.StandardCharsets.UTF_8)) sb.append(String.format(verb == 'X' ? "%02X" : "%02x", b));
                    return sb.toString();
                }
                return "%!" + verb + "(" + goTypeName(arg) + "=" + formatValue(arg) + ")";
            }
            case 'f', 'F', 'e', 'E', 'g', 'G' -> {
                if (!(arg instanceof NumberValue n)) return "%!" + verb + "(" + goTypeName(arg) + "=" + formatValue(arg) + ")";
                BigDecimal d = n.value();
                String s;
                if (verb == 'f' || verb == 'F') {
                    s = d.setScale(prec < 0 ? 6 : prec, RoundingMode.HALF_EVEN).toPlainString();
                } else if (verb == 'e' || verb == 'E') {
                    s = String.format("%." + (prec < 0 ? 6 : prec) + "e", d);
                    s = goExponent(s);
                    if (verb == 'E') s = s.toUpperCase(java.util.Locale.ROOT);
                } else {
                    s = goG(d, prec);
                }
                return plus && d.signum() >= 0 ? "+" + s : s;
            }
            default -> {
                return "%!" + verb + "(" + goTypeName(arg) + "=" + formatValue(arg) + ")";
            }
        }
    }

    private static String goExponent(String s) {
        // Java prints e+05 style already with at least two exponent digits
        return s;
    }

    private static String goG(BigDecimal d, int prec) {
        if (prec < 0) {
            // shortest representation, as strconv.FormatFloat(f, 'g', -1, 64)
            double x = d.doubleValue();
            if (x == Math.rint(x) && Math.abs(x) < 1e21) {
                BigDecimal bd = new BigDecimal(Double.toString(x)).stripTrailingZeros();
                return bd.scale() <= 0 ? bd.toBigInteger().toString() : bd.toPlainString();
            }
            BigDecimal bd = new BigDecimal(Double.toString(x)).stripTrailingZeros();
            int exp = bd.precision() - bd.scale() - 1;
            if (exp < -4 || exp >= 21) {
                String m = bd.unscaledValue().abs().toString();
                String mant = m.length() > 1 ? m.charAt(0) + "." + m.substring(1) : m;
                return (bd.signum() < 0 ? "-" : "") + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
            }
            return bd.toPlainString();
        }
        return new BigDecimal(d.unscaledValue(), d.scale()).round(new java.math.MathContext(Math.max(prec, 1))).stripTrailingZeros().toPlainString();
    }

    static String goQuote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }

}
