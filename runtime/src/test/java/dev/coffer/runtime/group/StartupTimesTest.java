package dev.coffer.runtime.group;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The startup record of `coffer run`: the microVM's sandbox phase split by the guest's own marks. */
class StartupTimesTest {
    @TempDir
    Path dir;

    @Test
    void microVmSummarySplitsTheSandboxPhaseByGuestMarks() throws Exception {
        StartupTimes t = new StartupTimes("microvm", 100, 24_000, 800, 2100, 1900,
                Map.of("started", 3_500L, "agent-starting", 6_500L, "agent-jvm-started", 12_400L, "agent-listening", 24_700L),
                "tee=43ms policy=440ms oci-runtime=1399ms netns=394ms skr=5ms");
        assertEquals("started in 28.9 s: prepare 0.1 s, sandbox 24.0 s (kernel to init 3.5 s, init 3.0 s, agent JVM 5.9 s,"
                + " agent init 12.3 s [tee=43ms policy=440ms oci-runtime=1399ms netns=394ms skr=5ms]), layers 0.8 s,"
                + " create 2.1 s, start 1.9 s", t.summary());
        t.write(dir);
        assertEquals(t, StartupTimes.read(dir));
    }

    @Test
    void missingMarksFallBackToTheUnsplitLabel() {
        StartupTimes partial = new StartupTimes("microvm", 0, 1000, 0, 0, 0, Map.of("started", 10L), null);
        assertTrue(partial.summary().contains("sandbox 1.0 s (VM boot + agent + policy load)"), partial.summary());
        StartupTimes process = new StartupTimes("process", 0, 1000, 0, 0, 0, null, null);
        assertTrue(process.summary().contains("(agent + policy load)"), process.summary());
    }
}
