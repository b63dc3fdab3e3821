package dev.coffer.rego.builtins;

import com.google.re2j.Pattern;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * regex.match refuses a subject that lacks an anchored pattern's literal prefix without running
 * RE2 (Regex.anchoredPrefix): the prefix must be one every match really starts with, so each
 * case here is also checked against RE2 itself.
 */
class RegexPrefixTest {
    @Test
    void theLiteralTextAfterTheAnchor() {
        assertEquals("PATH=", Regex.anchoredPrefix("^PATH=.*$"));
        assertEquals("TERM=xterm", Regex.anchoredPrefix("^TERM=xterm$"));
        assertEquals("/run/gcs/c/", Regex.anchoredPrefix("^/run/gcs/c/[a-z0-9]+/sandboxMounts$"));
        assertEquals("ab", Regex.anchoredPrefix("^ab+c"), "at least one b: b is required");
        assertEquals("éa", Regex.anchoredPrefix("^éa\\d"), "non-ASCII letters are literals too");
    }

    @Test
    void noPrefixWhereAMatchNeedNotStartWithIt() {
        assertEquals("", Regex.anchoredPrefix("PATH=.*"), "not anchored: a match may start anywhere");
        assertEquals("", Regex.anchoredPrefix("(?i)^path=.*"), "flags come before the anchor");
        assertEquals("", Regex.anchoredPrefix("(?m)^a"), "multi-line: ^ matches after any newline");
        assertEquals("", Regex.anchoredPrefix("^(?i)path=.*"), "a flag group right after the anchor");
        assertEquals("", Regex.anchoredPrefix("^a|b"), "the other branch needs no prefix");
        assertEquals("", Regex.anchoredPrefix("^[|]x|"), "any alternation bar, even a literal one, gives up");
        assertEquals("a", Regex.anchoredPrefix("^ab*"), "b may repeat zero times");
        assertEquals("a", Regex.anchoredPrefix("^ab?"));
        assertEquals("a", Regex.anchoredPrefix("^ab{0,2}"));
        assertEquals("", Regex.anchoredPrefix("^a*"));
        assertEquals("a", Regex.anchoredPrefix("^a\uD83D\uDE00?"), "an optional code point goes whole, both surrogates");
        assertEquals("", Regex.anchoredPrefix("^\\QPATH\\E"), "an escape ends the literal run");
        assertEquals("", Regex.anchoredPrefix("^.PATH"));
    }

    @Test
    void theTailsDecidedWithoutRe2() {
        assertEquals(Regex.Tail.ANY_TO_END, Regex.tail("^PATH=.*$"));
        assertEquals(Regex.Tail.ANY_TO_END, Regex.tail("^.*$"), "ACI's default user rule, anchored");
        assertEquals(Regex.Tail.END, Regex.tail("^TERM=xterm$"));
        assertEquals(Regex.Tail.SOME, Regex.tail("^a.+"));
        assertEquals(null, Regex.tail("^PATH=.*?$"), "a lazy star is left to RE2");
        assertEquals(null, Regex.tail("^VAR=[a-z]{1,64}$"));
        assertEquals(null, Regex.tail("PATH=.*$"), "not anchored");
        assertEquals(null, Regex.tail("^a|.*$"));
        assertEquals(null, Regex.tail("(?s)^a.*$"), "with (?s) a dot matches a newline");
    }

    /** The shortcut answers as RE2 does, for matching and non-matching subjects alike. */
    @Test
    void agreesWithRe2() {
        List<String> patterns = List.of("^PATH=.*$", "^ab+c", "^ab*c", "^ab?c", "^ab{0,2}c", "^a|b", "(?i)^path=.*", "^(?i)path=.*",
                "^x\uD83D\uDE00?y", "^TERM=xterm$", "^$", "^", "^a\\.b", "^[a-c]x",
                "^.*$", "^.*", "^.+$", "^.+", "^PATH=.+$", "^PATH=.+", "^PATH=.*", "^PATH=", "^PATH=$", "^.*$x", "^PATH=.*?$", "^PATH=.*x");
        List<String> subjects = List.of("", "PATH=/usr/bin", "path=/bin", "ac", "abc", "abbc", "b", "xb", "xy", "x\uD83D\uDE00y",
                "TERM=xterm", "TERM=xterm2", "a.b", "axb", "bx", "PAT", "PATH=", "PATH=\n", "PATH=a\nb", "PATH=a\n", "\n", "root", "PATH=\uD800");
        for (String re : patterns) {
            String prefix = Regex.anchoredPrefix(re);
            for (String s : subjects) {
                boolean re2 = Pattern.compile(re).matcher(s).find();
                if (re2) assertEquals(true, s.startsWith(prefix), re + " matches " + s + " without its prefix " + prefix);
                assertEquals(re2, match(re, s), "regex.match(" + re + ", " + s + ")");
            }
        }
    }

    private static boolean match(String re, String s) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("p.rego", "package t\nimport rego.v1\np := regex.match(input.re, input.s)\n")));
        Value v = p.evalRef("data.t.p", Value.fromJava(java.util.Map.of("re", re, "s", s)), new DataStore(),
                EvalOptions.DEFAULT).value();
        return v.equals(Value.of(true));
    }
}
