package dev.coffer.rego.builtins;

import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** semver.is_valid and semver.compare (Semantic Versioning 2.0.0 precedence). */
final class Semver {
    private Semver() {
    }

    // a fixed, linear pattern from the SemVer spec; safe for java.util.regex (no user-supplied regex)
    private static final Pattern SEMVER = Pattern.compile(
            "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$");

    static void register(Builtins.Registry r) {
        r.add("semver.is_valid", 1, (c, a) -> Value.of(a[0] instanceof StringValue s && SEMVER.matcher(s.value()).matches()));
        r.add("semver.compare", 2, (c, a) -> {
            Matcher x = parse(Args.str("semver.compare", a, 0), 1), y = parse(Args.str("semver.compare", a, 1), 2);
            return Value.of(compare(x, y));
        });
    }

    private static Matcher parse(String s, int operand) {
        Matcher m = SEMVER.matcher(s);
        if (!m.matches()) throw BuiltinException.builtin("semver.compare", "operand " + operand + ": string \"" + s + "\" is not a valid SemVer");
        return m;
    }

    static int compare(Matcher x, Matcher y) {
        for (int g = 1; g <= 3; g++) {
            int c = new BigInteger(x.group(g)).compareTo(new BigInteger(y.group(g)));
            if (c != 0) return Integer.signum(c);
        }
        String px = x.group(4), py = y.group(4);
        if (px == null && py == null) return 0;
        if (px == null) return 1;
        if (py == null) return -1;
        String[] a = px.split("\\."), b = py.split("\\.");
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            boolean na = a[i].chars().allMatch(Character::isDigit), nb = b[i].chars().allMatch(Character::isDigit);
            int c;
            if (na && nb) c = new BigInteger(a[i]).compareTo(new BigInteger(b[i]));
            else if (na) c = -1;
            else if (nb) c = 1;
            else c = a[i].compareTo(b[i]);
            if (c != 0) return Integer.signum(c);
        }
        return Integer.compare(a.length, b.length);
    }
}
