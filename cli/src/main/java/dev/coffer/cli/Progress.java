package dev.coffer.cli;

import java.io.PrintStream;

/**
 * A one-line progress bar on stderr when it is a terminal; silent otherwise, so scripts and
 * logs stay clean.
 */
public final class Progress implements AutoCloseable {
    private final String label;
    private final long total;
    private final boolean enabled;
    private final PrintStream err = System.err;
    private long lastDrawNanos;

    public Progress(String label, long total) {
        this.label = label;
        this.total = total;
        java.io.Console console = System.console();
        this.enabled = console != null && console.isTerminal();
    }

    public void update(long done) {
        if (!enabled) return;
        long now = System.nanoTime();
        if (now - lastDrawNanos < 100_000_000L && done < total) return;
        lastDrawNanos = now;
        if (total > 0) {
            int width = 30;
            int filled = (int) Math.min(width, width * done / total);
            err.printf("\r%s [%s%s] %3d%% ", label, "#".repeat(filled), " ".repeat(width - filled),
                    Math.min(100, 100 * done / total));
        } else {
            err.printf("\r%s %s ", label, humanBytes(done));
        }
        err.flush();
    }

    @Override
    public void close() {
        if (enabled) {
            err.print("\r\033[K");
            err.flush();
        }
    }

    public static String humanBytes(long n) {
        if (n < 1024) return n + " B";
        String units = "KMGTPE";
        int i = (int) (Math.log(n) / Math.log(1024));
        return String.format("%.1f %siB", n / Math.pow(1024, i), units.charAt(i - 1));
    }
}
