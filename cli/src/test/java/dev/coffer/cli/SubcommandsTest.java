package dev.coffer.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lazily built command tree of {@link Main#run} behaves exactly as the whole tree does. */
class SubcommandsTest {

    private static CliRun execute(CommandLine cli, String... args) {
        return CliRun.execute(cli, args);
    }

    private static void assertSameAsWholeTree(String... args) {
        CliRun whole = execute(Main.commandLine(), args);
        CliRun lazy = execute(Main.commandLineFor(args), args);
        assertEquals(whole, lazy, "coffer " + String.join(" ", args));
    }

    /** Every command path under coffer, e.g. [run], [image, ls], [server, token, ls]; an alias not again. */
    private static List<List<String>> commandPaths(CommandLine cmd, List<String> prefix) {
        List<List<String>> paths = new ArrayList<>();
        cmd.getSubcommands().forEach((name, sub) -> {
            if (!sub.getCommandSpec().name().equals(name)) return; // an alias: listed under its command's name
            List<String> path = new ArrayList<>(prefix);
            path.add(name);
            paths.add(path);
            paths.addAll(commandPaths(sub, path));
        });
        return paths;
    }

    @Test
    void everyEntryIsNamedAsItsCommandAndTheWholeTreeListsThemInOrder() {
        List<String> names = new ArrayList<>();
        for (Subcommands.Entry e : Subcommands.ALL) {
            CommandLine.Command annotation = e.type().getAnnotation(CommandLine.Command.class);
            assertEquals(e.name(), annotation.name(), e.type().getName());
            names.add(e.name());
        }
        List<String> whole = new ArrayList<>(Main.commandLine().getSubcommands().keySet());
        whole.remove("help"); // picocli's HelpCommand, declared on CofferCommand itself
        assertEquals(names, whole);
    }

    @Test
    void aNamedCommandBuildsOnlyThatOneAndVersionBuildsNone() {
        assertEquals(List.of("help", "run"), List.copyOf(Main.commandLineFor("run", "--help").getSubcommands().keySet()));
        assertEquals(List.of("help", "server"), List.copyOf(Main.commandLineFor("server", "token", "ls").getSubcommands().keySet()));
        assertEquals(List.of("help"), List.copyOf(Main.commandLineFor("--version").getSubcommands().keySet()));
        assertEquals(List.of("help"), List.copyOf(Main.commandLineFor("-V").getSubcommands().keySet()));
        // anything else needs the listing or the suggestions of the whole tree
        for (String[] args : List.of(new String[0], new String[]{"--help"}, new String[]{"help", "run"},
                new String[]{"rn"}, new String[]{"RUN"}, new String[]{"--version", "run"}, new String[]{"@args.txt"})) {
            assertEquals(Main.commandLine().getSubcommands().keySet(), Main.commandLineFor(args).getSubcommands().keySet(),
                    String.join(" ", args));
        }
    }

    @Test
    void everyCommandsHelpIsTheSameAsFromTheWholeTree() {
        List<List<String>> paths = commandPaths(Main.commandLine(), List.of());
        assertTrue(paths.size() > Subcommands.ALL.size(), "nested commands found: " + paths);
        for (List<String> path : paths) {
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            assertSameAsWholeTree(args.toArray(String[]::new));
        }
    }

    @Test
    void versionAndUsageErrorsAreTheSameAsFromTheWholeTree() {
        assertSameAsWholeTree("--version");
        assertSameAsWholeTree("-V");
        assertSameAsWholeTree("--help");
        assertSameAsWholeTree("run", "--no-such-option");
        assertSameAsWholeTree("run"); // a missing GROUP.yaml
        assertSameAsWholeTree("image", "nonsense");
        assertSameAsWholeTree("server", "token");
        assertSameAsWholeTree("imag");
        CliRun typo = execute(Main.commandLineFor("imag"), "imag");
        assertEquals(ExitCodes.USAGE, typo.exit());
        assertTrue(typo.err().contains("coffer image"), "the suggestion names the command meant: " + typo.err());
    }
}
