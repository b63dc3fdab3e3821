package dev.coffer.rego.builtins;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.Locale;

/** Translates Go reference-time layouts ("2006-01-02T15:04:05Z07:00") to java.time formatters. */
final class GoLayout {
    private GoLayout() {
    }

    private static final String[][] TOKENS = {
            {"January", "MMMM"}, {"Monday", "EEEE"}, {"2006", "yyyy"}, {"Jan", "MMM"}, {"Mon", "EEE"}, {"MST", "zzz"},
            {"Z07:00", "XXX"}, {"-07:00", "xxx"}, {"Z0700", "XX"}, {"-0700", "xx"}, {"Z07", "X"}, {"-07", "x"},
            {".000000000", ".SSSSSSSSS"}, {".000000", ".SSSSSS"}, {".000", ".SSS"}, {"01", "MM"}, {"02", "dd"}, {"15", "HH"},
            {"03", "hh"}, {"04", "mm"}, {"05", "ss"}, {"06", "yy"}, {"PM", "a"}, {"_2", "ppd"}, {"1", "M"}, {"2", "d"},
            {"3", "h"}, {"4", "m"}, {"5", "s"},
    };

    static DateTimeFormatter formatter(String layout) {
        switch (layout) {
            case "RFC3339", "2006-01-02T15:04:05Z07:00" -> {
                return DateTimeFormatter.ISO_OFFSET_DATE_TIME;
            }
            case "RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00" -> {
                return DateTimeFormatter.ISO_OFFSET_DATE_TIME;
            }
            case "RFC1123" -> layout = "Mon, 02 Jan 2006 15:04:05 MST";
            case "RFC1123Z" -> layout = "Mon, 02 Jan 2006 15:04:05 -0700";
            case "RFC822" -> layout = "02 Jan 06 15:04 MST";
            case "RFC822Z" -> layout = "02 Jan 06 15:04 -0700";
            case "RFC850" -> layout = "Monday, 02-Jan-06 15:04:05 MST";
            case "ANSIC" -> layout = "Mon Jan _2 15:04:05 2006";
            case "UnixDate" -> layout = "Mon Jan _2 15:04:05 MST 2006";
            case "RubyDate" -> layout = "Mon Jan 02 15:04:05 -0700 2006";
            case "Kitchen" -> layout = "3:04PM";
            case "DateTime" -> layout = "2006-01-02 15:04:05";
            case "DateOnly" -> layout = "2006-01-02";
            case "TimeOnly" -> layout = "15:04:05";
            default -> {
            }
        }
        StringBuilder pat = new StringBuilder();
        boolean hasHour = false;
        int i = 0;
        outer:
        while (i < layout.length()) {
            for (String[] t : TOKENS) {
                if (layout.startsWith(t[0], i)) {
                    pat.append(t[1]);
                    if (t[1].equals("HH") || t[1].equals("hh") || t[1].equals("h")) hasHour = true;
                    i += t[0].length();
                    continue outer;
                }
            }
            char ch = layout.charAt(i++);
            if (Character.isLetter(ch) || ch == '\'') pat.append('\'').append(ch == '\'' ? "''" : ch).append('\'');
            else pat.append(ch);
        }
        DateTimeFormatterBuilder b = new DateTimeFormatterBuilder().parseCaseInsensitive().appendPattern(pat.toString());
        // a missing hour means midnight; with a 12-hour clock the hour comes from hh + AM/PM instead
        if (!hasHour) b.parseDefaulting(ChronoField.HOUR_OF_DAY, 0);
        return b.toFormatter(Locale.ENGLISH).withZone(ZoneOffset.UTC);
    }

    static Instant parse(DateTimeFormatter f, String s) {
        TemporalAccessor t = f.parse(s);
        if (!t.isSupported(ChronoField.YEAR) && !t.isSupported(ChronoField.YEAR_OF_ERA)) {
            return ZonedDateTime.of(0, 1, 1, t.get(ChronoField.HOUR_OF_DAY), t.isSupported(ChronoField.MINUTE_OF_HOUR) ? t.get(ChronoField.MINUTE_OF_HOUR) : 0, 0, 0, ZoneOffset.UTC).toInstant();
        }
        return Instant.from(f.parse(s, ZonedDateTime::from));
    }
}
