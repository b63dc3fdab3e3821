package dev.coffer.cli;

/**
 * A failure the user can act on. The message is printed as is, on one line: say what was
 * expected, what was found, and what to do.
 */
public class CofferException extends RuntimeException {
    private final int exitCode;

    public CofferException(String message) {
        this(message, null, ExitCodes.FAILURE);
    }

    public CofferException(String message, Throwable cause) {
        this(message, cause, ExitCodes.FAILURE);
    }

    public CofferException(String message, Throwable cause, int exitCode) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
