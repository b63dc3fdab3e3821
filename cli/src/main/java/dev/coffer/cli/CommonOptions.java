package dev.coffer.cli;

import picocli.CommandLine.Option;

/**
 * Options every subcommand takes: mix in with {@code @Mixin CommonOptions common;}.
 * {@code --verbose} is read by {@link Main}'s error handler (stack traces on failure).
 */
public final class CommonOptions {
    @Option(names = "--verbose", description = "Print stack traces and extra detail on failure.")
    public boolean verbose;
}
