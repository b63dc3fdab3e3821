package dev.coffer.cli.server;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.server.bench.LoadGenerator;
import dev.coffer.server.client.ApiClientException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code coffer server bench}: loopback load against a running server, from this separate process. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Drive a running 'coffer server --trust-sim' over loopback HTTP from this process:",
                "attestations (verify + token) or key releases, at a fixed rate or as fast as possible.",
                "Uses this Coffer home's simulated secure processor for evidence (16 distinct guests, made before timing);",
                "prints throughput, p50/p99, errors and the CPU this load generator spent per request;",
                "for attest also the server's queue time and where the slowest 1%% spent theirs",
                "(from the server's Server-Timing). Connections opened in the warm-up serve the measured phase."},
        footer = {"", "Examples:", "  coffer server bench --mode release --rate 200 --seconds 60",
                "  coffer server bench --mode attest --concurrency 32 --seconds 20"})
public final class ServerBenchCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--server", paramLabel = "URL", description = "Server URL (default: the running server of this Coffer home).")
    String server;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Admin token (default: $COFFER_ADMIN_TOKEN or $COFFER_HOME/server/admin-token).")
    String token;

    @Option(names = "--mode", defaultValue = "release", description = "attest or release (default: ${DEFAULT-VALUE}).")
    LoadGenerator.Mode mode;

    @Option(names = "--rate", defaultValue = "0", description = "Requests per second; 0 = as fast as --concurrency allows (default: ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--concurrency", defaultValue = "16", description = "Requests in flight at most (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--seconds", defaultValue = "10", description = "Measured seconds (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--warmup", defaultValue = "2", description = "Warm-up seconds, not measured (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Override
    public void run() {
        if (rate < 0 || concurrency < 1 || seconds < 1 || warmup < 0) {
            throw new UsageException("--rate must be >= 0, --concurrency and --seconds >= 1, --warmup >= 0");
        }
        var home = CofferHome.resolve();
        String url = server != null ? server : ServerEndpoint.url(home);
        String admin = token != null ? token : ServerEndpoint.adminToken(home);
        LoadGenerator.Result r;
        try {
            r = LoadGenerator.run(new LoadGenerator.Config(url, admin, home, mode, rate, concurrency, warmup, seconds,
                    ServerEndpoint.trust(home, null, null)));
        } catch (ApiClientException e) {
            throw new CofferException("bench setup failed: " + e.getMessage() + " (" + e.code() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CofferException("bench interrupted");
        }
        if (output.json()) {
            Json.print(spec.commandLine().getOut(), r);
        } else {
            spec.commandLine().getOut().println(r.summary());
            spec.commandLine().getOut().flush();
        }
        if (r.errors() > 0 && !output.json()) {
            spec.commandLine().getErr().println("first error: " + r.firstError());
            spec.commandLine().getErr().flush();
        }
    }
}
