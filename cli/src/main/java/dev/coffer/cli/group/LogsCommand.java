package dev.coffer.cli.group;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;

/** {@code coffer logs GROUP [CONTAINER] [-f]}. */
@Command(name = "logs", mixinStandardHelpOptions = true,
        description = {"Print the stdout and stderr of a group's containers (all of them, each line prefixed",
                "with [container], or just one). Logs stay readable after the group is stopped."},
        footer = {"", "Examples:", "  coffer logs web", "  coffer logs web server -f", "  coffer logs --policy web -o json",
                "  coffer logs --guest web"})
public final class LogsCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP", description = "The group.")
    String group;

    @Parameters(index = "1", arity = "0..1", paramLabel = "CONTAINER", description = "Only this container.")
    String container;

    @Mixin
    OutputOption output;

    @Option(names = "--policy", description = {"Print the group's policy decision log instead: every host request the",
            "agent judged, allowed or denied with the reason, and whether it was committed or rolled back."})
    boolean policy;

    @Option(names = "--guest", description = {"Print the sandbox's own log instead: a microVM's console (kernel, init,",
            "agent), or the process sandbox's agent output. Useful when a group does not start."})
    boolean guest;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new output until the containers exit or the group stops.")
    boolean follow;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        if (guest && policy) {
            throw new dev.coffer.cli.UsageException("expected one of --guest and --policy, found both; run them one at a time");
        }
        if (guest) {
            try {
                java.nio.file.Path log = Groups.manager().sandboxLog(group);
                if (!java.nio.file.Files.exists(log)) {
                    throw new dev.coffer.cli.CofferException("expected the sandbox log " + log + ", found none; the sandbox"
                            + " of " + group + " never started");
                }
                // a console can carry bytes that are not UTF-8: replace them rather than fail
                out.print(new String(java.nio.file.Files.readAllBytes(log), java.nio.charset.StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw Groups.failure(e);
            }
            out.flush();
            return;
        }
        if (policy) {
            try {
                var entries = Groups.manager().policyLog(group);
                if (output.json()) {
                    Json.print(out, entries.stream().map(e -> e.toJson()).toList());
                } else {
                    for (var e : entries) {
                        out.printf("%5d %s %-26s %-8s %-11s %s%n", e.sequence(), e.time(), e.rule(),
                                e.allowed() ? "allowed" : "DENIED", e.outcome(), e.allowed() ? "" : e.reason());
                    }
                }
            } catch (IOException e) {
                throw Groups.failure(e);
            }
            out.flush();
            return;
        }
        try {
            Groups.manager().logs(group, container, follow, line -> {
                out.println(line);
                if (follow) out.flush();
            });
        } catch (IOException e) {
            throw Groups.failure(e);
        }
        out.flush();
    }
}
