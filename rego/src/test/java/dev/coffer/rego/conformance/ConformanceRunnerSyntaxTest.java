package dev.coffer.rego.conformance;

import dev.coffer.rego.Rego;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runner parses a suite's modules in the suite's syntax: OPA keeps its cases in
 * {@code testdata/v0} (OPA 0.x modules) and {@code testdata/v1}, and a v0 case read as v1 fails
 * for the syntax, not for the engine. The cases here are our own, in OPA's YAML format.
 */
class ConformanceRunnerSyntaxTest {
    /** A v0 module: keyword-less bodies, a partial set, a default and an else chain. */
    private static final String V0_CASES = """
            cases:
              - note: fam/v0 rules
                query: data.t.out = x
                modules:
                  - |
                    package t
                    default allow = false
                    allow { input.user == "alice" }
                    names[n] { n := input.names[_] }
                    size = "big" { count(names) > 2 } else = "small" { true }
                    out = [allow, names, size]
                input:
                  user: alice
                  names: [a, b]
                want_result:
                  - x: [true, [a, b], small]
              - note: fam/v0 conflict
                query: data.t.p = x
                modules:
                  - |
                    package t
                    p = 1 { true }
                    p = 2 { true }
                want_error: rule data.t.p produced conflicting values
                want_error_code: eval_conflict_error
            """;

    @Test
    void aV0DirectoryIsReadAsV0() {
        assertEquals(Rego.Syntax.V0, ConformanceRunner.syntaxOf(Path.of("opa/v1/test/cases/testdata/v0")));
        assertEquals(Rego.Syntax.V0, ConformanceRunner.syntaxOf(Path.of("opa/v1/test/cases/testdata/v0/aggregates")));
        assertEquals(Rego.Syntax.V1, ConformanceRunner.syntaxOf(Path.of("opa/v1/test/cases/testdata/v1")));
        assertEquals(Rego.Syntax.V1, ConformanceRunner.syntaxOf(Path.of("cases/v0x")), "only a whole v0 component counts");
    }

    @Test
    void v0CasesPassAsV0AndTheReportSaysWhichSyntaxRan(@TempDir Path dir) throws Exception {
        Path fam = Files.createDirectories(dir.resolve("v0/fam"));
        Files.writeString(fam.resolve("t.yaml"), V0_CASES);
        ConformanceRunner.Report v0 = new ConformanceRunner(ConformanceRunner.syntaxOf(dir.resolve("v0"))).run(dir.resolve("v0"));
        String printed = print(v0);
        assertEquals(2, v0.count(ConformanceRunner.Outcome.PASS), printed);
        assertTrue(printed.startsWith("syntax: v0"), printed);
        assertTrue(printed.contains("2 passed, 0 failed, 0 skipped"), printed);

        // the same cases read as v1 fail, each with the parser's reason
        ConformanceRunner.Report v1 = new ConformanceRunner(Rego.Syntax.V1).run(dir.resolve("v0"));
        String failures = print(v1);
        assertEquals(2, v1.count(ConformanceRunner.Outcome.FAIL), failures);
        assertTrue(failures.startsWith("syntax: v1"), failures);
        assertTrue(failures.contains("rego_parse_error"), failures);
    }

    private static String print(ConformanceRunner.Report r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.print(new PrintStream(out, true, StandardCharsets.UTF_8), true);
        return out.toString(StandardCharsets.UTF_8);
    }
}
