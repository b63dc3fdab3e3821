package dev.coffer.rego.builtins;

import dev.coffer.rego.value.ArrayValue;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.TextStyle;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** time.* built-ins; times are nanoseconds since the Unix epoch, as in OPA. */
final class Times {
    private Times() {
    }

    private static final BigInteger NANOS = BigInteger.valueOf(1_000_000_000L);
    private static final Pattern DURATION = Pattern.compile("([0-9]*(?:\\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)");

    static void register(Builtins.Registry r) {
        r.addNondeterministic("time.now_ns", 0, (c, a) -> NumberValue.of(nanos(c.now())));
        r.add("time.parse_rfc3339_ns", 1, (c, a) -> {
            String s = Args.str("time.parse_rfc3339_ns", a, 0);
            try {
                return NumberValue.of(inRange("time.parse_rfc3339_ns", nanos(OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant())));
            } catch (DateTimeParseException e) {
                throw BuiltinException.builtin("time.parse_rfc3339_ns", "parsing time \"" + s + "\" as \"2006-01-02T15:04:05Z07:00\": cannot parse");
            }
        });
        r.add("time.parse_ns", 2, (c, a) -> {
            String layout = Args.str("time.parse_ns", a, 0), s = Args.str("time.parse_ns", a, 1);
            try {
                DateTimeFormatter f = GoLayout.formatter(layout);
                return NumberValue.of(inRange("time.parse_ns", nanos(GoLayout.parse(f, s))));
            } catch (DateTimeException | IllegalArgumentException e) {
                throw BuiltinException.builtin("time.parse_ns", "parsing time \"" + s + "\" as \"" + layout + "\": cannot parse");
            }
        });
        r.add("time.parse_duration_ns", 1, (c, a) -> NumberValue.of(duration(Args.str("time.parse_duration_ns", a, 0))));
        r.add("time.date", 1, (c, a) -> {
            ZonedDateTime t = zoned("time.date", a[0]);
            return Value.array(NumberValue.of(t.getYear()), NumberValue.of(t.getMonthValue()), NumberValue.of(t.getDayOfMonth()));
        });
        r.add("time.clock", 1, (c, a) -> {
            ZonedDateTime t = zoned("time.clock", a[0]);
            return Value.array(NumberValue.of(t.getHour()), NumberValue.of(t.getMinute()), NumberValue.of(t.getSecond()));
        });
        r.add("time.weekday", 1, (c, a) -> Value.of(zoned("time.weekday", a[0]).getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH)));
        r.add("time.add_date", 4, (c, a) -> {
            ZonedDateTime t = zoned("time.add_date", a[0]);
            long y = Args.integer("time.add_date", a, 1).longValueExact(), m = Args.integer("time.add_date", a, 2).longValueExact(),
                    d = Args.integer("time.add_date", a, 3).longValueExact();
            // Go normalises overflowing days (Feb 30 -> Mar 2) instead of clamping
            LocalDate base = t.toLocalDate().withDayOfMonth(1).plusYears(y).plusMonths(m);
            ZonedDateTime out = t.with(base).plusDays(t.getDayOfMonth() - 1 + d);
            BigInteger ns = nanos(out.toInstant());
            if (ns.bitLength() > 63) throw BuiltinException.builtin("time.add_date", "time outside of valid range");
            return NumberValue.of(ns);
        });
        r.add("time.diff", 2, (c, a) -> {
            ZonedDateTime x = zoned("time.diff", a[0]), y = zoned("time.diff", a[1]);
            if (x.isAfter(y)) {
                ZonedDateTime t = x;
                x = y;
                y = t;
            }
            y = y.withZoneSameInstant(x.getZone());
            Period p = Period.between(x.toLocalDate(), y.toLocalDate());
            Duration d = Duration.between(x.toLocalTime(), y.toLocalTime());
            if (d.isNegative()) {
                p = Period.between(x.toLocalDate(), y.toLocalDate().minusDays(1));
                d = d.plusDays(1);
            }
            return Value.array(NumberValue.of(p.getYears()), NumberValue.of(p.getMonths()), NumberValue.of(p.getDays()),
                    NumberValue.of(d.toHours()), NumberValue.of(d.toMinutesPart()), NumberValue.of(d.toSecondsPart()));
        });
        r.add("time.format", 1, (c, a) -> {
            ZonedDateTime t = zoned("time.format", a[0]);
            String layout = a[0] instanceof ArrayValue arr && arr.size() > 2 && arr.get(2) instanceof StringValue l ? l.value() : null;
            if (layout == null) {
                return Value.of(DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(t).replace("+00:00", "Z"));
            }
            // the layout formatter defaults to UTC for parsing; format in the requested zone
            return Value.of(GoLayout.formatter(layout).withZone(t.getZone()).format(t));
        });
    }

    private static BigInteger inRange(String fn, BigInteger ns) {
        if (ns.bitLength() > 63) throw BuiltinException.builtin(fn, "time outside of valid range");
        return ns;
    }

    static BigInteger nanos(Instant i) {
        return BigInteger.valueOf(i.getEpochSecond()).multiply(NANOS).add(BigInteger.valueOf(i.getNano()));
    }

    private static ZonedDateTime zoned(String fn, Value v) {
        BigDecimal ns;
        ZoneId zone = ZoneOffset.UTC;
        if (v instanceof NumberValue n) {
            ns = n.value();
        } else if (v instanceof ArrayValue arr && arr.size() >= 1 && arr.get(0) instanceof NumberValue n) {
            ns = n.value();
            if (arr.size() > 1) {
                if (!(arr.get(1) instanceof StringValue z)) throw BuiltinException.type(fn, "operand 1 must be array[number, string]");
                try {
                    zone = z.value().isEmpty() || z.value().equals("UTC") ? ZoneOffset.UTC
                            : z.value().equals("Local") ? ZoneId.systemDefault() : ZoneId.of(z.value());
                } catch (DateTimeException e) {
                    throw BuiltinException.builtin(fn, "unknown time zone " + z.value());
                }
            }
        } else {
            throw Args.typeErr(fn, 0, "one of {number, array}", v);
        }
        BigInteger[] qr = ns.setScale(0, RoundingMode.DOWN).toBigInteger().divideAndRemainder(NANOS);
        long sec = qr[0].longValue(), nano = qr[1].longValue();
        if (nano < 0) {
            sec--;
            nano += 1_000_000_000L;
        }
        if (qr[0].bitLength() > 40) throw BuiltinException.builtin(fn, "timestamp too big");
        return Instant.ofEpochSecond(sec, nano).atZone(zone);
    }

    static BigInteger duration(String s) {
        String orig = s;
        boolean neg = false;
        if (s.startsWith("-") || s.startsWith("+")) {
            neg = s.startsWith("-");
            s = s.substring(1);
        }
        if (s.equals("0")) return BigInteger.ZERO;
        if (s.isEmpty()) throw BuiltinException.builtin("time.parse_duration_ns", "time: invalid duration \"" + orig + "\"");
        Matcher m = DURATION.matcher(s);
        BigDecimal total = BigDecimal.ZERO;
        int pos = 0;
        while (pos < s.length()) {
            if (!m.find(pos) || m.start() != pos || m.group(1).isEmpty() || m.group(1).equals("."))
                throw BuiltinException.builtin("time.parse_duration_ns", "time: invalid duration \"" + orig + "\"");
            BigDecimal n = new BigDecimal(m.group(1).endsWith(".") ? m.group(1) + "0" : m.group(1));
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs", "μs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            total = total.add(n.multiply(BigDecimal.valueOf(unit)));
            pos = m.end();
        }
        BigInteger out = total.setScale(0, RoundingMode.DOWN).toBigInteger();
        return neg ? out.negate() : out;
    }
}
