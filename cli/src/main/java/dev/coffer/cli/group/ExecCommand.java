package dev.coffer.cli.group;

import dev.coffer.agent.protocol.Result;
import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code coffer exec GROUP CONTAINER -- CMD...}. */
@Command(name = "exec", mixinStandardHelpOptions = true,
        description = {"Run a command in a running container of a group and print its output. The agent runs",
                "it (runc/crun exec) with the container's user and environment; stdin is not attached."},
        footer = {"", "Exit code: the command's own exit code; 1 if it could not be run; 2 on a usage error.",
                "", "Example:", "  coffer exec web server -- cat /etc/hostname"})
public final class ExecCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP", description = "The group.")
    String group;

    @Parameters(index = "1", paramLabel = "CONTAINER", description = "The container.")
    String container;

    @Parameters(index = "2..*", arity = "1..*", paramLabel = "CMD", description = "The command and its arguments (after --).")
    List<String> command;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "Kill the command after this many seconds (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() {
        Result.ExecResult r;
        try {
            r = Groups.manager().exec(group, container, command, Duration.ofSeconds(Math.max(1, timeoutSeconds)));
        } catch (IOException e) {
            throw Groups.failure(e);
        }
        spec.commandLine().getOut().print(r.stdout());
        spec.commandLine().getOut().flush();
        spec.commandLine().getErr().print(r.stderr());
        if (r.truncated()) spec.commandLine().getErr().println("coffer: output truncated to 256 KiB per stream");
        if (r.timedOut()) spec.commandLine().getErr().println("coffer: the command ran longer than " + timeoutSeconds + " s and was stopped");
        spec.commandLine().getErr().flush();
        return r.exitCode();
    }
}
