package dev.coffer.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * What a command run in the test's JVM gave: its exit code and what it wrote to stdout and
 * stderr, as a user of {@code coffer ARGS} would see them. One capture for every command test.
 */
public record CliRun(int exit, String out, String err) {
    /** Runs {@code cli} with {@code args}, its output and errors captured. */
    public static CliRun execute(CommandLine cli, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    /** {@code coffer ARGS}, on the CLI's whole command tree. */
    public static CliRun coffer(String... args) {
        return execute(Main.commandLine(), args);
    }
}
