package dev.coffer.cli.group;

import dev.coffer.cli.CommonOptions;
import dev.coffer.runtime.group.GroupManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.stream.Collectors;

/** {@code coffer stop GROUP}. */
@Command(name = "stop", mixinStandardHelpOptions = true,
        description = {"Stop a group: SIGTERM to every container, SIGKILL after the grace period, then unmount",
                "and remove every overlay, layer mount, volume and the network namespace. No process or mount",
                "of the group remains; its state and logs do (remove them with `coffer rm`).",
                "Stopping a stopped group changes nothing and says so.",
                "",
                "The stop never waits on the agent's goodwill: an agent that does not answer (hung, dead, or a",
                "hostile guest) gets a bounded time (a ping within 60 s, then the grace period plus a minute for",
                "each stop step: at most 4 minutes plus twice the grace in all), then the sandbox is killed",
                "(a microVM's QEMU, or the agent and every process it started) and cleaned up from the host.",
                "The output then says the stop was forced, and why."},
        footer = {"", "Example:", "  coffer stop web --grace 5"})
public final class StopCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP", description = "The group.")
    String group;

    @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "10",
            description = "Seconds between SIGTERM and SIGKILL (default: ${DEFAULT-VALUE}).")
    int graceSeconds;

    @Override
    public void run() {
        GroupManager.StopOutcome outcome;
        try {
            outcome = Groups.manager().stop(group, Duration.ofSeconds(Math.max(0, graceSeconds)));
        } catch (IOException e) {
            throw Groups.failure(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (outcome.alreadyStopped()) {
            out.println("group " + group + " is already stopped; nothing to do (`coffer rm " + group + "` removes it)");
        } else {
            out.println("group " + group + " stopped: " + outcome.containers().stream()
                    .map(c -> c.name() + " exited " + Groups.exit(c)).collect(Collectors.joining(", ")));
            if (outcome.forced()) out.println("stop forced: " + outcome.forcedBecause());
        }
        out.flush();
    }
}
