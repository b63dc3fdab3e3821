package dev.coffer.cli.rego;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.rego.bench.AciBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;

@Command(name = "bench", description = {"Benchmark create_container and mount_overlay decisions on a generated",
        "confidential-container policy (containers x 5 layers, 20 env rules, 5 mounts); prints us/op p50/p99,",
        "allocated bytes/op and parse+compile time."},
        footer = {"", "Example:", "  coffer rego bench --containers 10 --iterations 20000"})
public final class RegoBenchCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Spec CommandSpec spec;

    @Option(names = "--containers", defaultValue = "10", description = "Containers in the generated policy (default: 10).")
    int containers;

    @Option(names = "--iterations", defaultValue = "20000", description = "Timed evaluations per decision (default: 20000).")
    int iterations;

    @Option(names = "--warmup", defaultValue = "5000", description = "Untimed evaluations first (default: 5000).")
    int warmup;

    @Override
    public void run() {
        if (containers < 1 || iterations < 100 || warmup < 0) throw new UsageException("--containers >= 1, --iterations >= 100, --warmup >= 0");
        AciBenchmark.Report r = AciBenchmark.run(containers, warmup, iterations);
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, r);
            return;
        }
        out.println(containers + " containers; " + AciBenchmark.describeCompile(r));
        for (AciBenchmark.Figures f : r.decisions())
            out.printf("%-30s p50 %8.1f us  p99 %8.1f us  mean %8.1f us  %8d B/op  allowed=%s%n", f.decision(), f.p50Micros(),
                    f.p99Micros(), f.meanMicros(), f.allocatedBytesPerOp(), f.allowed());
    }
}
