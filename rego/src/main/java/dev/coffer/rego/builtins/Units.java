package dev.coffer.rego.builtins;

import dev.coffer.rego.value.NumberValue;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Map;

/** units.parse (SI and IEC suffixes, m = milli) and units.parse_bytes. */
final class Units {
    private Units() {
    }

    private static final BigDecimal K = BigDecimal.valueOf(1000), KI = BigDecimal.valueOf(1024);
    private static final Map<String, BigDecimal> SI = Map.of("k", K, "m", K.pow(2), "g", K.pow(3), "t", K.pow(4), "p", K.pow(5), "e", K.pow(6));
    private static final Map<String, BigDecimal> IEC = Map.of("ki", KI, "mi", KI.pow(2), "gi", KI.pow(3), "ti", KI.pow(4), "pi", KI.pow(5), "ei", KI.pow(6));

    static void register(Builtins.Registry r) {
        r.add("units.parse", 1, (c, a) -> {
            String s = stripQuotes(Args.str("units.parse", a, 0));
            String[] nu = split("units.parse", s);
            BigDecimal n = number("units.parse", nu[0]);
            String u = nu[1];
            if (u.isEmpty()) return NumberValue.of(n);
            if (u.equals("m")) return NumberValue.of(n.divide(K));
            BigDecimal mul = u.length() == 1 && !u.equals("m") ? SI.get(u.toLowerCase(Locale.ROOT)) : IEC.get(u.toLowerCase(Locale.ROOT));
            if (mul == null) throw BuiltinException.builtin("units.parse", "unknown unit: " + u);
            return NumberValue.of(n.multiply(mul));
        });
        r.add("units.parse_bytes", 1, (c, a) -> {
            String s = stripQuotes(Args.str("units.parse_bytes", a, 0));
            String[] nu = split("units.parse_bytes", s);
            BigDecimal n = number("units.parse_bytes", nu[0]);
            String u = nu[1].toLowerCase(Locale.ROOT);
            if (u.endsWith("b")) u = u.substring(0, u.length() - 1);
            if (u.endsWith("i") && u.length() == 1) throw BuiltinException.builtin("units.parse_bytes", "unknown unit: " + nu[1]);
            BigDecimal mul = u.isEmpty() ? BigDecimal.ONE : u.length() == 1 ? SI.get(u) : IEC.get(u);
            if (mul == null) throw BuiltinException.builtin("units.parse_bytes", "unknown unit: " + nu[1]);
            return NumberValue.of(n.multiply(mul).setScale(0, RoundingMode.DOWN));
        });
    }

    private static String stripQuotes(String s) {
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) return s.substring(1, s.length() - 1);
        return s;
    }

    private static String[] split(String fn, String s) {
        if (s.contains(" ")) throw BuiltinException.builtin(fn, "spaces not allowed in resource strings");
        int i = 0;
        while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.' || (i == 0 && (s.charAt(i) == '-' || s.charAt(i) == '+'))
                || ((s.charAt(i) == '-' || s.charAt(i) == '+') && i > 0 && (s.charAt(i - 1) == 'e' || s.charAt(i - 1) == 'E')) || ((s.charAt(i) == 'e' || s.charAt(i) == 'E') && i + 1 < s.length() && (Character.isDigit(s.charAt(i + 1)) || s.charAt(i + 1) == '-' || s.charAt(i + 1) == '+') && i > 0 && Character.isDigit(s.charAt(i - 1)))))
            i++;
        return new String[]{s.substring(0, i), s.substring(i)};
    }

    private static BigDecimal number(String fn, String s) {
        boolean bytes = fn.equals("units.parse_bytes");
        if (s.isEmpty()) throw BuiltinException.builtin(fn, bytes ? "no byte amount provided" : "no amount provided");
        try {
            BigDecimal d = new BigDecimal(s);
            // refuse numbers whose expansion would take unbounded time and memory
            if (Math.abs((long) d.precision() - d.scale()) > 1000) throw BuiltinException.builtin(fn, "exponent too large");
            return d;
        } catch (NumberFormatException e) {
            throw BuiltinException.builtin(fn, bytes ? "could not parse byte amount to a number" : "could not parse amount to a number");
        }
    }
}
