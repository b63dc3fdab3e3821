package dev.coffer.cli;

/** The exit-code contract of every {@code coffer} command. */
public final class ExitCodes {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;

    private ExitCodes() {}
}
