package dev.coffer.cli.policy;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.policy.bench.EnforcementBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code coffer policy bench}: create_container decisions per second. */
@Command(name = "bench",
        description = {"Measure create_container decisions per second on a generated policy",
                "(default 10 containers x 5 layers, 20 env rules, 5 mounts), with p50/p99 latency."},
        footer = {"", "Example:", "  coffer policy bench --seconds 10"})
public final class PolicyBenchCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--containers", defaultValue = "10", description = "Containers in the policy (default: ${DEFAULT-VALUE}).")
    int containers;

    @Option(names = "--layers", defaultValue = "5", description = "Layers per container (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--env-rules", defaultValue = "20", description = "Env rules per container (default: ${DEFAULT-VALUE}).")
    int envRules;

    @Option(names = "--mounts", defaultValue = "5", description = "Mounts per container (default: ${DEFAULT-VALUE}).")
    int mounts;

    @Option(names = "--warmup", defaultValue = "3", description = "Warm-up seconds (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--seconds", defaultValue = "5", description = "Measured seconds (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Override
    public void run() {
        if (containers < 1 || layers < 1 || envRules < 0 || mounts < 0 || seconds <= 0 || warmup < 0) {
            throw new UsageException("--containers and --layers must be at least 1, --env-rules and --mounts at least 0, --seconds positive");
        }
        EnforcementBenchmark.Result r = EnforcementBenchmark.run(containers, layers, envRules, mounts, warmup, seconds);
        if (output.json()) {
            Json.print(spec.commandLine().getOut(), r);
        } else {
            spec.commandLine().getOut().println(r.summary());
            spec.commandLine().getOut().flush();
        }
    }
}
