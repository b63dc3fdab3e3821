package dev.coffer.agent.container;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A container's log, written by the agent from the container's stdout and stderr pipes: the log
 * file holds both streams interleaved as they arrived (what {@code coffer logs} shows, the format
 * it always had), and a side file ({@code ID.log.stderr}) names the byte ranges of the log that
 * came from stderr, one "START END" line each. Readers that know the side file (the shim, which
 * gives containerd's CRI the two streams on separate FIFOs) can split the log exactly; readers
 * that do not see the same log as before.
 *
 * <p>A range is recorded before its bytes are appended, so a reader that finds bytes in the log
 * already finds the range that says where they came from.
 */
final class ContainerLog {
    /** The suffix of the side file beside {@code ID.log}: the stderr ranges. */
    static final String STDERR_RANGES = ".stderr";
    private static final int CHUNK = 8192;
    /** How long the exit of a container waits for its last output to be copied (a child holding the pipe never ends it). */
    private static final long DRAIN_MILLIS = 2000;

    private final Path log;
    private final Path ranges;
    private long length;
    private final List<Thread> copiers;

    private ContainerLog(Path log, Process process) throws IOException {
        this.log = log;
        this.ranges = log.resolveSibling(log.getFileName() + STDERR_RANGES);
        this.length = Files.exists(log) ? Files.size(log) : 0;
        this.copiers = List.of(copier(process.getInputStream(), false), copier(process.getErrorStream(), true));
    }

    /** Starts copying {@code process}'s stdout and stderr (pipes) into {@code log}. */
    static ContainerLog copy(Path log, Process process) throws IOException {
        ContainerLog l = new ContainerLog(log, process);
        l.copiers.forEach(Thread::start);
        return l;
    }

    /** Waits (bounded) until both pipes reached their end, so output written just before an exit is in the log. */
    void drain() {
        long deadline = System.currentTimeMillis() + DRAIN_MILLIS;
        for (Thread t : copiers) {
            try {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * A copier is a platform daemon thread, not a virtual one. It spends its whole life blocked in
     * read(2) on a pipe, and a virtual thread blocked there is pinned to its carrier (a Process
     * stream is a FileInputStream under a synchronized BufferedInputStream; the JDK only
     * compensates by adding carriers). In the microVM (one vCPU, a virtual-thread scheduler of
     * parallelism 1) two pinned copiers per container left the scheduler with idle workers it did
     * not wake while a key release's RSA key generation held the one active carrier: the agent's
     * connection threads and the socket poller sat runnable and unscheduled, and the host's
     * read_logs and read_decision_log went unanswered for a minute (guest thread dumps, DemoCommandTest
     * under TCG). A platform thread blocking in read(2) costs one kernel thread and touches no
     * scheduler; it ends at the pipe's end, and a daemon never keeps the agent's JVM alive.
     */
    private Thread copier(InputStream in, boolean stderr) {
        return Thread.ofPlatform().daemon().name("log-" + log.getFileName() + (stderr ? "-err" : "-out")).unstarted(() -> {
            byte[] buf = new byte[CHUNK];
            boolean logging = true;
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (!logging) continue; // keep draining: a container must never block on a full pipe
                    try {
                        append(buf, n, stderr);
                    } catch (IOException e) {
                        logging = false; // the log cannot be written (disk full?): later output is dropped, not held
                    }
                }
            } catch (IOException e) {
                // the pipe broke: the container's output on this stream ends here, the container runs on
            }
        });
    }

    private synchronized void append(byte[] buf, int n, boolean stderr) throws IOException {
        if (stderr) {
            Files.writeString(ranges, length + " " + (length + n) + "\n", StandardCharsets.US_ASCII,
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        }
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
            while (b.hasRemaining()) ch.write(b);
        }
        length += n;
    }
}
