package dev.coffer.cli.rego;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.UsageException;
import dev.coffer.rego.Rego;
import dev.coffer.rego.conformance.ConformanceRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

@Command(name = "conformance", description = "Run OPA's YAML conformance cases from DIR; prints a per-family table and 'N passed, M failed, K skipped'.",
        footer = {"", "Example:", "  coffer rego conformance ../shared/testdata/opa-conformance/v1 --failures",
                "  coffer rego conformance opa/v1/test/cases/testdata/v0 --v0"})
public final class RegoConformanceCommand implements Runnable {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR")
    Path dir;

    @Option(names = "--syntax", paramLabel = "v0|v1", description = "Syntax of the cases' modules (default: v0 when DIR has a 'v0' component, as OPA's v1/test/cases/testdata/v0, else v1).")
    String syntax;

    @Option(names = "--v0", description = "Same as --syntax v0.")
    boolean v0;

    @Option(names = "--failures", description = "List every failing case with the reason.")
    boolean failures;

    @Override
    public void run() {
        try {
            if (v0 && syntax != null && !syntax.equals("v0"))
                throw new UsageException("--v0 contradicts --syntax " + syntax + "; give one of them");
            Rego.Syntax chosen = v0 ? Rego.Syntax.V0 : syntax != null ? RegoEvalCommand.syntax(syntax) : ConformanceRunner.syntaxOf(dir);
            ConformanceRunner.Report r = new ConformanceRunner(chosen).run(dir);
            PrintStream ps = new PrintStream(new java.io.OutputStream() {
                @Override
                public void write(int b) {
                    spec.commandLine().getOut().write(b);
                }
            }, true, java.nio.charset.StandardCharsets.UTF_8);
            r.print(ps, failures);
            ps.flush();
            spec.commandLine().getOut().flush();
            if (r.count(ConformanceRunner.Outcome.FAIL) > 0 && failures) {
                throw new CofferException(r.count(ConformanceRunner.Outcome.FAIL) + " conformance cases failed");
            }
        } catch (IOException e) {
            throw new CofferException("cannot read conformance cases: " + e.getMessage());
        }
    }
}
