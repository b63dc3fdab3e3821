package dev.coffer.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;

/**
 * The training run of the CLI's ahead-of-time cache (JDK 25: {@code -XX:AOTCacheOutput}), started by
 * the {@code coffer} launcher once after each build. It walks what every invocation pays before its
 * command does anything: the tree of the bare {@code --version}, the whole tree with its listing,
 * and each command's own tree and help, as {@link Main#run} builds them. It runs no command, so it
 * touches no state; what it prints is thrown away.
 */
public final class AotTraining {
    private AotTraining() {}

    public static void main(String[] args) {
        PrintWriter nowhere = new PrintWriter(Writer.nullWriter());
        List<List<String>> invocations = new ArrayList<>();
        invocations.add(List.of("--version"));
        invocations.add(List.of("--help"));
        for (List<String> path : Main.commandPaths(Main.commandLine(), List.of())) {
            List<String> help = new ArrayList<>(path);
            help.add("--help");
            invocations.add(help);
        }
        for (List<String> invocation : invocations) {
            String[] argv = invocation.toArray(String[]::new);
            CommandLine cli = Main.commandLineFor(argv);
            cli.setOut(nowhere);
            cli.setErr(nowhere);
            int exit = cli.execute(argv);
            if (exit != ExitCodes.OK) {
                throw new IllegalStateException("training: 'coffer " + String.join(" ", invocation) + "' exited " + exit);
            }
        }
    }
}
