package dev.coffer.cli.group;

import dev.coffer.cli.CommonOptions;
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
        footer = {"", "Examples:", "  coffer logs web", "  coffer logs web server -f"})
public final class LogsCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP", description = "The group.")
    String group;

    @Parameters(index = "1", arity = "0..1", paramLabel = "CONTAINER", description = "Only this container.")
    String container;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new output until the containers exit or the group stops.")
    boolean follow;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
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
