package dev.coffer.agent.container;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A process's stdout and stderr copied into one log plus the ranges that came from stderr: the
 * log reads as before (both streams), and the ranges split it back into exactly what each stream
 * carried, whatever the interleaving of the two pipes.
 */
class ContainerLogTest {
    @TempDir
    Path dir;

    @Test
    void logHoldsBothStreamsAndTheRangesSplitThemExactly() throws Exception {
        Path log = dir.resolve("c.log");
        Files.writeString(log, "from an earlier start\n"); // ranges count from the log's end, not from zero
        // many writes to both streams, a partial last line on stderr, and a chunk larger than one pipe read
        String script = "for i in $(seq 1 200); do echo out$i; echo err$i >&2; done; head -c 20000 /dev/zero | tr '\\0' x;"
                + " printf 'no newline' >&2";
        Process p = new ProcessBuilder("sh", "-c", script).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        ContainerLog copy = ContainerLog.copy(log, p);
        assertEquals(0, p.waitFor());
        copy.drain();

        byte[] all = Files.readAllBytes(log);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int prefix = "from an earlier start\n".length();
        out.write(all, 0, prefix);
        int at = prefix;
        for (String line : Files.readAllLines(log.resolveSibling("c.log.stderr"))) {
            String[] f = line.split(" ");
            int start = Integer.parseInt(f[0]);
            int end = Integer.parseInt(f[1]);
            assertTrue(start >= at && end > start && end <= all.length, "ranges ascend, within the log: " + line);
            out.write(all, at, start - at);
            err.write(all, start, end - start);
            at = end;
        }
        out.write(all, at, all.length - at);

        StringBuilder wantOut = new StringBuilder("from an earlier start\n");
        StringBuilder wantErr = new StringBuilder();
        for (int i = 1; i <= 200; i++) {
            wantOut.append("out").append(i).append('\n');
            wantErr.append("err").append(i).append('\n');
        }
        wantOut.append("x".repeat(20000));
        wantErr.append("no newline");
        assertEquals(wantOut.toString(), out.toString(StandardCharsets.UTF_8));
        assertEquals(wantErr.toString(), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aProcessThatWritesNothingLeavesNoRanges() throws Exception {
        Path log = dir.resolve("quiet.log");
        Process p = new ProcessBuilder(List.of("true")).start();
        ContainerLog copy = ContainerLog.copy(log, p);
        assertEquals(0, p.waitFor());
        copy.drain();
        assertTrue(!Files.exists(log) || Files.size(log) == 0);
        assertTrue(!Files.exists(dir.resolve("quiet.log.stderr")));
    }
}
