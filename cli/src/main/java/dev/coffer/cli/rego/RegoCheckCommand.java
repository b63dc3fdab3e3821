package dev.coffer.cli.rego;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;

@Command(name = "check", description = "Parse and compile Rego modules; report the first error as module:line:column.",
        footer = {"", "Example:", "  coffer rego check policy.rego framework.rego"})
public final class RegoCheckCommand implements Runnable {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Option(names = "--syntax", paramLabel = "v0|v1", defaultValue = "v1", description = "Syntax of modules without 'import rego.v1' (default: v1).")
    String syntax;

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "Rego files or directories.")
    List<Path> files;

    @Override
    public void run() {
        RegoFiles.Loaded loaded = RegoFiles.load(files);
        try {
            var p = Rego.compile(loaded.modules(), Rego.Options.DEFAULT.withSyntax(RegoEvalCommand.syntax(syntax)));
            spec.commandLine().getOut().println("ok: " + loaded.modules().size() + " module(s), packages " + p.packages());
        } catch (RegoException e) {
            throw new CofferException(e.located());
        }
    }
}
