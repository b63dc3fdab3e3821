package dev.coffer.cli.rego;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.UsageException;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.DataStore;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.EvalResult;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

@Command(name = "eval", description = "Evaluate a Rego query against policy and data files, like 'opa eval'; prints JSON.",
        footer = {"", "Examples:", "  coffer rego eval -d policy.rego -i input.json data.policy.allow",
                "  coffer rego eval -d policies/ -d data.json 'x := data.policy.containers[_].id'"})
public final class RegoEvalCommand implements Runnable {
    @Mixin CommonOptions common;
    @Spec CommandSpec spec;

    @Option(names = {"-d", "--data"}, paramLabel = "FILE|DIR", description = "Rego modules and JSON data documents (repeatable).")
    List<Path> data = new ArrayList<>();

    @Option(names = {"-i", "--input"}, paramLabel = "INPUT.json", description = "The input document.")
    Path input;

    @Option(names = "--syntax", paramLabel = "v0|v1", defaultValue = "v1", description = "Syntax of modules without 'import rego.v1' (default: v1).")
    String syntax;

    @Option(names = "--strict-builtin-errors", description = "Treat built-in errors as errors instead of undefined.")
    boolean strict;

    @Parameters(index = "0", paramLabel = "QUERY")
    String query;

    @Override
    public void run() {
        RegoFiles.Loaded loaded = RegoFiles.load(data);
        Value in = null;
        if (input != null) {
            try {
                in = Json.parse(RegoFiles.read(input));
            } catch (IllegalArgumentException e) {
                throw new CofferException(input + ": " + e.getMessage());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        try {
            CompiledPolicy p = Rego.compile(loaded.modules(), Rego.Options.DEFAULT.withSyntax(syntax(syntax)));
            EvalResult r = p.eval(query, in, new DataStore(loaded.data()), EvalOptions.DEFAULT.withStrictBuiltinErrors(strict));
            for (String line : r.prints()) spec.commandLine().getErr().println(line);
            List<Object> rows = new ArrayList<>();
            for (Map<String, Value> row : r.rows()) {
                java.util.LinkedHashMap<String, Object> m = new java.util.LinkedHashMap<>();
                for (Map.Entry<String, Value> e : row.entrySet()) m.put(e.getKey(), Json.toJsonNode(e.getValue()));
                rows.add(m);
            }
            dev.coffer.cli.Json.print(out, Map.of("result", rows));
        } catch (RegoException e) {
            throw new CofferException(e.located());
        }
    }

    static Rego.Syntax syntax(String s) {
        return switch (s) {
            case "v0" -> Rego.Syntax.V0;
            case "v1" -> Rego.Syntax.V1;
            default -> throw new UsageException("--syntax must be v0 or v1, found " + s);
        };
    }
}
