package dev.coffer.cli.group;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The start of `coffer run` for its startup report, from /proc on the kernel's boot clock. */
class ProcessStartTest {
    @Test
    void readsTheStartTicksAfterTheCommandNameAndTheUptime() {
        // a command name with spaces and a parenthesis, as the kernel prints it; starttime (field 22) is 4321 ticks
        String stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4321 1000 100 0 0 0";
        assertEquals(Duration.ofMillis(12_345_670 - 43_210), ProcessStart.sinceStart(stat, "12345.67 2345.00\n"));
        assertEquals(Duration.ofMillis(12_345_600 - 43_210), ProcessStart.sinceStart(stat, "12345.6 2345.00\n"));
    }

    @Test
    void refusesWhatIsNotTheKernelsFormat() {
        assertThrows(IllegalArgumentException.class, () -> ProcessStart.sinceStart("4242 no-parens S 1", "1.00 1.00"));
        assertThrows(IllegalArgumentException.class, () -> ProcessStart.sinceStart("4242 (x) S 1 2", "1.00 1.00"));
        assertThrows(IllegalArgumentException.class, () -> ProcessStart.sinceStart(
                "4242 (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4321 1000", "not-a-number 1.00"));
    }

    @Test
    void agreesWithTheJvmsOwnStartToTheTickWhereProcessHandleWasUpToASecondEarly() {
        // this JVM was not exec'd from a script, so its process started when the JVM did (to /proc's 10 ms ticks,
        // plus the JVM's own start before it takes its start time); the error this replaced was the boot time's
        // fraction of a second, up to 1 s
        long jvmStartNanos = System.nanoTime() - ManagementFactory.getRuntimeMXBean().getUptime() * 1_000_000;
        long procStartNanos = ProcessStart.nanos();
        long differenceMs = Math.abs(jvmStartNanos - procStartNanos) / 1_000_000;
        assertTrue(differenceMs < 250, "the process's start from /proc and the JVM's differ by " + differenceMs + " ms");
    }
}
