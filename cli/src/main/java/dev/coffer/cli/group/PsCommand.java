package dev.coffer.cli.group;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.GroupStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code coffer ps [GROUP]}: groups and their containers, refreshed from the agents. */
@Command(name = "ps", mixinStandardHelpOptions = true,
        description = {"List container groups and their containers: state, exit code, pid. Asks each running",
                "group's agent for fresh state. Groups nobody will stop any more (their sandbox died, or the",
                "foreground `coffer run` that owned them was killed) are stopped and cleaned up first, and said so."},
        footer = {"", "Examples:", "  coffer ps", "  coffer ps web -o json"})
public final class PsCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "GROUP", description = "Only this group.")
    String group;

    @Override
    public void run() {
        List<GroupStatus> groups;
        PrintWriter err = spec.commandLine().getErr();
        try {
            GroupManager manager = Groups.manager();
            groups = group == null ? manager.list() : List.of(manager.status(group));
            // groups nobody will stop (dead sandbox, killed foreground CLI) are cleaned up and reported
            List<GroupManager.Reaped> reaped = manager.reap(groups);
            for (GroupManager.Reaped r : reaped) {
                err.println("coffer: stopped group " + r.name() + " and removed what it left: " + r.reason());
            }
            err.flush();
            if (!reaped.isEmpty()) groups = group == null ? manager.list() : List.of(manager.status(group));
        } catch (IOException e) {
            throw Groups.failure(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, groups);
            return;
        }
        if (groups.isEmpty()) {
            out.println("no groups; start one with `coffer run GROUP.yaml -d`");
            out.flush();
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"GROUP", "STATUS", "ISOLATION", "TEE", "POLICY", "CONTAINER", "STATE", "EXIT", "PID"});
        for (GroupStatus g : groups) {
            for (ContainerRecord c : g.containers()) {
                rows.add(new String[] {g.name(), g.status(), g.isolation(), g.tee(), g.enforcer(), c.name(), c.state(), Groups.exit(c),
                        c.pid() == null || !"running".equals(c.state()) ? "-" : c.pid().toString()});
            }
        }
        int[] width = new int[rows.getFirst().length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) width[i] = Math.max(width[i], r[i].length());
        }
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                sb.append(r[i]);
                if (i < r.length - 1) sb.append(" ".repeat(width[i] - r[i].length() + 2));
            }
            out.println(sb);
        }
        for (GroupStatus g : groups) {
            if (g.problem() != null) out.println(g.name() + ": " + g.problem());
        }
        out.flush();
    }
}
