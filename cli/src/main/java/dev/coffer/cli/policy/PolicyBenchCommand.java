package dev.coffer.cli.policy;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.policy.bench.EnforcementBenchmark;
import dev.coffer.policy.bench.MicrosoftFrameworkBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code coffer policy bench}: create_container decisions per second. */
@Command(name = "bench",
        description = {"Measure create_container decisions per second on a generated policy",
                "(default 10 containers x 5 layers, 20 env rules, 5 mounts), with p50/p99 latency.",
                "With --framework, measure instead an ACI policy evaluated with Microsoft's own framework",
                "(hcsshim's framework.rego and api.rego): the decision an Azure confidential-container guest takes.",
                "CPU us per decision is the figure to compare on a shared machine; wall-clock figures grow with its load."},
        footer = {"", "Examples:", "  coffer policy bench --seconds 10",
                "  coffer policy bench --framework ../shared/testdata/aci/hcsshim-v0.14.0 \\",
                "      --policy ../shared/testdata/aci/confcom-samples/environment_variables/policy.rego"})
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

    @Option(names = "--framework", paramLabel = "DIR", description = {"hcsshim's pkg/securitypolicy directory (framework.rego,",
            "api.rego, data.json): benchmark Microsoft's framework on --policy instead of the generated policy."})
    Path framework;

    @Option(names = "--policy", paramLabel = "FILE", description = "The ACI policy (az confcom output) for --framework.")
    Path policy;

    @Option(names = "--iterations", defaultValue = "20000", description = "Timed decisions of each kind with --framework (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Override
    public void run() {
        if (framework != null || policy != null) {
            runFramework();
            return;
        }
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

    private void runFramework() {
        if (framework == null || policy == null) throw new UsageException("--framework DIR and --policy FILE go together");
        for (String f : List.of("framework.rego", "api.rego", "data.json")) {
            if (!Files.isRegularFile(framework.resolve(f))) {
                throw new UsageException("--framework " + framework + " has no " + f + "; point it at hcsshim's pkg/securitypolicy directory");
            }
        }
        if (!Files.isRegularFile(policy)) throw new UsageException("--policy " + policy + ": no such file");
        if (iterations < 100) throw new UsageException("--iterations must be at least 100");
        MicrosoftFrameworkBenchmark.Result r = MicrosoftFrameworkBenchmark.run(framework, policy, iterations, iterations);
        if (output.json()) {
            Json.print(spec.commandLine().getOut(), r);
        } else {
            spec.commandLine().getOut().println(r.summary());
            spec.commandLine().getOut().flush();
        }
    }
}
