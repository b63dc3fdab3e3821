package dev.coffer.cli.group;

import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;

/** {@code coffer rm GROUP}. */
@Command(name = "rm", mixinStandardHelpOptions = true,
        description = {"Remove a stopped group: its state, logs and directory under $COFFER_HOME/groups.",
                "With --force a running group is stopped first, as `coffer stop` does: an agent that does not",
                "answer is not waited for beyond a bounded time; its sandbox is killed and the output says so."},
        footer = {"", "Examples:", "  coffer rm web", "  coffer rm --force web    # stop it first if it runs"})
public final class RmCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP", description = "The group.")
    String group;

    @Option(names = {"-f", "--force"}, description = "Stop the group first if it is running.")
    boolean force;

    @Override
    public void run() {
        dev.coffer.runtime.group.GroupManager.StopOutcome stopped;
        try {
            stopped = Groups.manager().rm(group, force);
        } catch (IOException e) {
            throw Groups.failure(e);
        }
        if (stopped != null && stopped.forced()) {
            spec.commandLine().getOut().println("stop forced: " + stopped.forcedBecause());
        }
        spec.commandLine().getOut().println("group " + group + " removed");
        spec.commandLine().getOut().flush();
    }
}
