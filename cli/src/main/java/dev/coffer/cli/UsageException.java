package dev.coffer.cli;

/** A command line that parses but does not make sense (exit code 2). */
public final class UsageException extends CofferException {
    public UsageException(String message) {
        super(message, null, ExitCodes.USAGE);
    }
}
