package dev.coffer.rego.builtins;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * regex.globs_match: whether two "glob-style" regular expressions (literals, {@code .},
 * {@code [...]} sets with ranges, {@code \} escapes, each optionally followed by {@code *},
 * {@code +} or {@code ?}) both match some non-empty string. Each pattern becomes a small NFA
 * over character sets; a breadth-first search over pairs of states looks for a common
 * accepted string of at least one character.
 */
final class GlobIntersection {
    private GlobIntersection() {
    }

    /** A set of code points as sorted, disjoint, inclusive ranges. */
    private record CharSet(int[] ranges) {
        static final CharSet ANY = new CharSet(new int[]{0, Character.MAX_CODE_POINT});

        boolean intersects(CharSet o) {
            for (int i = 0; i < ranges.length; i += 2)
                for (int j = 0; j < o.ranges.length; j += 2)
                    if (ranges[i] <= o.ranges[j + 1] && o.ranges[j] <= ranges[i + 1]) return true;
            return false;
        }
    }

    /** One element: a character set that must match once, or any number of times ({@code loop}), or optionally. */
    private record Token(CharSet chars, boolean loop, boolean optional) {
    }

    static boolean intersect(String fn, String a, String b) {
        List<Token> ta = parse(fn, a), tb = parse(fn, b);
        // state: (position in a, position in b, consumed at least one char)
        record State(int a, int b, boolean consumed) {
        }
        ArrayDeque<State> work = new ArrayDeque<>();
        Set<State> seen = new HashSet<>();
        State start = new State(0, 0, false);
        work.add(start);
        seen.add(start);
        while (!work.isEmpty()) {
            State s = work.poll();
            if (s.consumed && s.a == ta.size() && s.b == tb.size()) return true;
            List<State> next = new ArrayList<>();
            // epsilon moves: skip a looping or optional token
            if (s.a < ta.size() && (ta.get(s.a).loop || ta.get(s.a).optional)) next.add(new State(s.a + 1, s.b, s.consumed));
            if (s.b < tb.size() && (tb.get(s.b).loop || tb.get(s.b).optional)) next.add(new State(s.a, s.b + 1, s.consumed));
            if (s.a < ta.size() && s.b < tb.size()) {
                Token x = ta.get(s.a), y = tb.get(s.b);
                if (x.chars.intersects(y.chars)) {
                    // consume one common character; a looping token may stay where it is
                    int na = x.loop ? s.a : s.a + 1, nb = y.loop ? s.b : s.b + 1;
                    next.add(new State(na, nb, true));
                    if (x.loop) next.add(new State(s.a + 1, nb, true));
                    if (y.loop) next.add(new State(na, s.b + 1, true));
                    if (x.loop && y.loop) next.add(new State(s.a + 1, s.b + 1, true));
                }
            }
            for (State n : next) if (seen.add(n)) work.add(n);
        }
        return false;
    }

    private static BuiltinException invalid(String fn, String input, int pos, String what) {
        return BuiltinException.builtin(fn, "input:" + input + ", pos:" + pos + ", " + what + ": the input provided is invalid");
    }

    static List<Token> parse(String fn, String s) {
        List<Token> out = new ArrayList<>();
        int[] cps = s.codePoints().toArray();
        int i = 0;
        while (i < cps.length) {
            int c = cps[i];
            CharSet set;
            switch (c) {
                case '*', '+', '?' -> throw invalid(fn, s, i + 1, "modifier '" + (char) c + "' with no preceding element");
                case ']' -> throw invalid(fn, s, i + 1, "set-close ']' with no preceding '['");
                case '.' -> {
                    set = CharSet.ANY;
                    i++;
                }
                case '\\' -> {
                    if (i + 1 >= cps.length) throw invalid(fn, s, i + 1, "escape '\\' at the end of the input");
                    set = new CharSet(new int[]{cps[i + 1], cps[i + 1]});
                    i += 2;
                }
                case '[' -> {
                    int j = i + 1;
                    boolean negate = j < cps.length && cps[j] == '^';
                    if (negate) j++;
                    List<int[]> ranges = new ArrayList<>();
                    while (true) {
                        if (j >= cps.length) throw invalid(fn, s, i + 1, "set-open '[' with no closing ']'");
                        int x = cps[j];
                        if (x == ']') break;
                        if (x == '[') throw invalid(fn, s, j + 1, "set-open '[' inside a set");
                        if (x == '\\') {
                            if (j + 1 >= cps.length) throw invalid(fn, s, j + 1, "escape '\\' at the end of the input");
                            x = cps[++j];
                        }
                        int lo = x, hi = x;
                        if (j + 2 < cps.length && cps[j + 1] == '-' && cps[j + 2] != ']') {
                            hi = cps[j + 2];
                            if (hi == '\\') {
                                if (j + 3 >= cps.length) throw invalid(fn, s, j + 3, "escape '\\' at the end of the input");
                                hi = cps[j + 3];
                                j++;
                            }
                            if (hi < lo) throw invalid(fn, s, j + 3, "range out of order");
                            j += 2;
                        }
                        ranges.add(new int[]{lo, hi});
                        j++;
                    }
                    if (ranges.isEmpty()) throw invalid(fn, s, j + 1, "empty set");
                    set = normalize(ranges, negate);
                    i = j + 1;
                }
                default -> {
                    set = new CharSet(new int[]{c, c});
                    i++;
                }
            }
            boolean loop = false, optional = false, plus = false;
            if (i < cps.length && (cps[i] == '*' || cps[i] == '+' || cps[i] == '?')) {
                loop = cps[i] == '*';
                plus = cps[i] == '+';
                optional = cps[i] == '?';
                i++;
            }
            if (plus) {
                // x+ is x followed by x*
                out.add(new Token(set, false, false));
                loop = true;
            }
            out.add(new Token(set, loop, optional));
        }
        return out;
    }

    private static CharSet normalize(List<int[]> ranges, boolean negate) {
        ranges.sort((p, q) -> Integer.compare(p[0], q[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] r : ranges) {
            if (!merged.isEmpty() && r[0] <= merged.getLast()[1] + 1) merged.getLast()[1] = Math.max(merged.getLast()[1], r[1]);
            else merged.add(new int[]{r[0], r[1]});
        }
        if (negate) {
            List<int[]> comp = new ArrayList<>();
            int next = 0;
            for (int[] r : merged) {
                if (r[0] > next) comp.add(new int[]{next, r[0] - 1});
                next = r[1] + 1;
            }
            if (next <= Character.MAX_CODE_POINT) comp.add(new int[]{next, Character.MAX_CODE_POINT});
            merged = comp;
        }
        int[] flat = new int[merged.size() * 2];
        for (int k = 0; k < merged.size(); k++) {
            flat[2 * k] = merged.get(k)[0];
            flat[2 * k + 1] = merged.get(k)[1];
        }
        return new CharSet(flat);
    }
}
