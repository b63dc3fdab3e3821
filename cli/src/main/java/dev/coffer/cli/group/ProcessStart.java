package dev.coffer.cli.group;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * When this process started, on the {@link System#nanoTime()} clock: the start of `coffer run`
 * for its startup report, the launcher script's time included (it execs the JVM, which keeps its
 * process).
 *
 * <p>Why not {@code ProcessHandle.info().startInstant()}: on Linux it adds the process's start in
 * clock ticks after boot to the boot time, which the kernel gives in whole seconds ({@code btime}
 * of /proc/stat), so it was up to a second early, a constant for each boot (1.06 s on the machine
 * where this was found), and the report's CLI phase grew by that much. Here both ends are on the
 * kernel's boot clock: the start in ticks ({@code /proc/self/stat}, field 22) against the time
 * since boot ({@code /proc/uptime}), both to 10 ms.
 */
final class ProcessStart {
    /** USER_HZ: the unit of /proc's tick fields, 100 on every Linux ABI Coffer runs on. */
    static final long TICKS_PER_SECOND = 100;

    private ProcessStart() {}

    /** This process's start on the nanoTime clock (from ProcessHandle, coarser, where /proc cannot be read). */
    static long nanos() {
        long now = System.nanoTime();
        try {
            return now - sinceStart(Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII),
                    Files.readString(Path.of("/proc/uptime"), StandardCharsets.US_ASCII)).toNanos();
        } catch (IOException | RuntimeException e) {
            java.time.Instant started = ProcessHandle.current().info().startInstant().orElse(java.time.Instant.now());
            return now - Math.max(0, Duration.between(started, java.time.Instant.now()).toNanos());
        }
    }

    /**
     * The time since the process of {@code stat} (a /proc/PID/stat line) started, given
     * {@code uptime} (/proc/uptime) read at the same moment.
     *
     * @throws IllegalArgumentException when either is not in the kernel's format
     */
    static Duration sinceStart(String stat, String uptime) {
        // the command name (field 2) is in parentheses and may hold spaces or parentheses: fields count from the last ')'
        int close = stat.lastIndexOf(')');
        if (close < 0) throw new IllegalArgumentException("expected /proc/self/stat with (comm), found \"" + stat.strip() + "\"");
        String[] after = stat.substring(close + 1).strip().split(" ");
        if (after.length < 20) {
            throw new IllegalArgumentException("expected at least 22 fields in /proc/self/stat, found " + (after.length + 2));
        }
        long startTicks = Long.parseLong(after[19]); // field 22, starttime; after[0] is field 3
        String[] up = uptime.strip().split("\\s+");
        // "12345.67": seconds and hundredths since boot
        String[] parts = up[0].split("\\.");
        long upCentis = Long.parseLong(parts[0]) * 100 + (parts.length > 1 ? Long.parseLong((parts[1] + "00").substring(0, 2)) : 0);
        long startCentis = startTicks * 100 / TICKS_PER_SECOND;
        return Duration.ofMillis(Math.max(0, upCentis - startCentis) * 10);
    }
}
