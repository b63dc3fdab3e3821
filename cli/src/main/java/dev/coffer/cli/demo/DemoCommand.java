package dev.coffer.cli.demo;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.runtime.group.Isolation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code coffer demo}: Coffer's main job end to end, on embedded defaults, with a readable account. */
@Command(name = "demo",
        description = {"Run Coffer's main job end to end on embedded defaults: build a small image offline",
                "(from the host's busybox-static), import it, and run a group of two containers, a web",
                "server and a client that fetches a page from it over localhost inside the group.",
                "Prints one line per step; -o json prints a summary for scripts instead."},
        footer = {"", "Exit codes: 0 when every step succeeded, 1 when any failed.",
                "", "Examples:", "  coffer demo", "  coffer demo -o json | jq '.steps[] | select(.ok | not)'"})
public final class DemoCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--isolation", paramLabel = "KIND", defaultValue = "auto",
            description = {"Sandbox: process, microvm (builds the guest first if needed), or auto (default: microvm",
                    "with a built guest and hardware KVM, else process)."})
    String isolation;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String chosen = chooseIsolation(isolation, out, output.json());
        DemoRun run = new DemoRun(CofferHome.resolve(), chosen, output.json() ? null : out);
        DemoReport report = run.execute();
        if (output.json()) {
            Map<String, Object> json = new java.util.LinkedHashMap<>();
            json.put("isolation", report.isolation());
            json.put("tee", report.tee());
            // what the scratch was, never what was hoped for: encrypted false with the reason where the sandbox could not
            json.put("scratch", report.scratch() == null ? null
                    : Map.of("encrypted", report.scratch().encrypted(), "detail", report.scratch().describe()));
            json.put("steps", report.steps());
            Json.print(out, json);
        } else {
            out.println(!report.ok() ? "demo FAILED: see the step marked FAIL above (run again with --verbose for details)."
                    : report.skippedSteps().isEmpty() ? "demo finished: every step succeeded."
                    : "demo finished: every step that ran succeeded; not run here: " + String.join(", ", report.skippedSteps())
                            + " (marked skip above, with the reason).");
            out.flush();
        }
        return report.ok() ? 0 : 1;
    }

    static String chooseIsolation(String requested, PrintWriter out, boolean quiet) {
        Isolation.Choice choice;
        try {
            choice = Isolation.choose(requested, CofferHome.resolve());
        } catch (IllegalArgumentException e) {
            throw new dev.coffer.cli.UsageException("--isolation expects process, microvm or auto; found '" + requested + "'");
        }
        if (!quiet && !choice.reason().equals("requested")) {
            out.println("isolation " + choice.backend() + " (" + choice.reason() + ")");
        }
        return choice.backend();
    }
}
