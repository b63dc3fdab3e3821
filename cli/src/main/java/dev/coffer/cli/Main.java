package dev.coffer.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.List;

/**
 * Entry point of the {@code coffer} command. Sets the exit-code contract (0 success, 1 failure,
 * 2 usage error) and the one-line error format; subcommands stay free of that plumbing.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI in-process and returns its exit code; tests call this directly. */
    public static int run(String... args) {
        return commandLineFor(args).execute(args);
    }

    /** The whole command tree, every subcommand built. */
    public static CommandLine commandLine() {
        return configured(Subcommands.ALL);
    }

    /**
     * The command tree these arguments need. Building a subcommand's model (picocli reads every
     * option, mixin and nested command by reflection) costs most of a short command's start, so a
     * command named by the first argument gets a tree holding just that one, and a bare --version
     * one holding none. Everything else (no arguments, --help, 'help', a mistyped or abbreviated
     * name, an @file) gets the whole tree, so the listing, the suggestions and the errors are the
     * ones it always printed.
     */
    static CommandLine commandLineFor(String... args) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            return configured(List.of());
        }
        if (args.length > 0) {
            var invoked = Subcommands.named(args[0]);
            if (invoked.isPresent()) return configured(List.of(invoked.get()));
        }
        return commandLine();
    }

    private static CommandLine configured(List<Subcommands.Entry> subcommands) {
        CommandLine cli = new CommandLine(new CofferCommand());
        for (Subcommands.Entry sub : subcommands) {
            cli.addSubcommand(sub.type());
            if (!cli.getSubcommands().containsKey(sub.name())) {
                // a renamed @Command must be renamed in Subcommands too, or the lazy path would miss it
                throw new IllegalStateException("Subcommands lists " + sub.type().getName() + " as '" + sub.name()
                        + "' but its @Command is named otherwise; make the two agree");
            }
        }
        addHelpOptionEverywhere(cli);
        cli.setExecutionExceptionHandler(Main::onFailure);
        cli.setParameterExceptionHandler(Main::onUsageError);
        cli.setExitCodeExceptionMapper(t -> ExitCodes.FAILURE);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setUsageHelpAutoWidth(true);
        cli.setUsageHelpWidth(100);
        return cli;
    }

    /** Every command answers --help, whether or not its class asked for the standard help options. */
    private static void addHelpOptionEverywhere(CommandLine cmd) {
        CommandLine.Model.CommandSpec spec = cmd.getCommandSpec();
        if (spec.findOption("--help") == null) {
            spec.addOption(CommandLine.Model.OptionSpec.builder("-h", "--help").usageHelp(true)
                    .description("Show this help message and exit.").build());
        }
        for (CommandLine sub : cmd.getSubcommands().values()) {
            addHelpOptionEverywhere(sub);
        }
    }

    private static int onFailure(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        if (e instanceof UsageException) {
            err.println("coffer: " + e.getMessage());
            err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help'.");
            err.flush();
            return ExitCodes.USAGE;
        }
        err.println("coffer: " + oneLine(e));
        if (isVerbose(parsed)) {
            e.printStackTrace(err);
        } else if (!(e instanceof CofferException) && e.getMessage() == null) {
            err.println("(run again with --verbose for the stack trace)");
        }
        err.flush();
        return e instanceof CofferException ce ? ce.exitCode() : ExitCodes.FAILURE;
    }

    private static int onUsageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("coffer: " + e.getMessage());
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) {
            err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help'.");
        }
        err.flush();
        return ExitCodes.USAGE;
    }

    private static boolean isVerbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /** The message of an exception and its causes, joined, on one line. */
    static String oneLine(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (sb.indexOf(m) < 0) {
                if (!sb.isEmpty()) sb.append(": ");
                sb.append(m);
            }
            if (t.getCause() == t) break;
        }
        return sb.toString().replace('\n', ' ');
    }

    static List<String> commandNames() {
        return Subcommands.ALL.stream().map(Subcommands.Entry::name).toList();
    }
}
