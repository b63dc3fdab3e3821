package dev.coffer.runtime.group;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.runtime.sandbox.Sandbox;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Reads container log files line by line, optionally following them. Reads the files directly
 * (they live in the group directory in the process sandbox) so logs stay readable after stop.
 */
final class LogFollower {
    private static final long POLL_MILLIS = 200;

    /**
     * When a follower asks the agent whether its containers exited: every round (200 ms) for the
     * first 2 s, so a short run ends at once, then every second, then after 30 s every 2 s. Each
     * question is a wait_container decision in the sandbox's bounded (16 MiB) decision log: asked
     * every 200 ms, a group followed for an hour filled it, and later decisions no longer reached
     * the file. (A microVM's agent serves one host connection at a time, so the follower cannot
     * hold a long wait open instead.)
     */
    static long exitCheckInterval(long followedMillis) {
        return followedMillis < 2_000 ? 0 : followedMillis < 30_000 ? 1_000 : 2_000;
    }

    private final GroupManager manager;
    private final String group;
    private final List<ContainerRecord> containers;
    private final boolean prefix;

    LogFollower(GroupManager manager, String group, List<ContainerRecord> containers, boolean prefix) {
        this.manager = manager;
        this.group = group;
        this.containers = containers;
        this.prefix = prefix;
    }

    void run(boolean follow, Consumer<String> sink) throws IOException {
        int n = containers.size();
        long[] offsets = new long[n];
        StringBuilder[] partial = new StringBuilder[n];
        for (int i = 0; i < n; i++) partial[i] = new StringBuilder();
        ExitCheck exited = follow ? askingLessOften() : null;
        while (true) {
            // decide whether this is the last round before reading, so output written just
            // before the containers exited is still delivered
            boolean last = !follow || exited.now() || Thread.currentThread().isInterrupted();
            manager.pullLogs(manager.readState(group));
            for (int i = 0; i < n; i++) {
                offsets[i] = drain(containers.get(i), offsets[i], partial[i], sink);
            }
            if (last) break;
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (int i = 0; i < n; i++) {
            if (!partial[i].isEmpty()) sink.accept(label(containers.get(i)) + partial[i]);
        }
    }

    /**
     * Follows the first container's output stream by stream, until it exited or the group
     * stopped: the log's bytes, each range the agent recorded as stderr (its {@code .stderr}
     * side file) to {@code sink} as stderr, the rest as stdout. A log without a side file (a
     * microVM's copy, an agent that predates it) is all stdout.
     *
     * <p>{@code exited}, when not null, says when the container has exited, from a caller that
     * already waits for its exit with the agent's long wait (the shim): the follower then asks the
     * agent nothing. Otherwise it asks every round, a wait_container decision each time in the
     * sandbox's bounded decision log; a pod's followers asking every 200 ms for hours filled it,
     * and later decisions (a refused exec) no longer reached the file.
     */
    void runStreams(GroupManager.OutputSink sink, java.util.function.BooleanSupplier callerExited) throws IOException {
        ExitCheck exited = callerExited != null ? callerExited::getAsBoolean : askingLessOften();
        ContainerRecord c = containers.getFirst();
        Path log = Path.of(c.logPath());
        Path rangesFile = log.resolveSibling(log.getFileName() + ".stderr");
        java.util.ArrayDeque<long[]> ranges = new java.util.ArrayDeque<>();
        long offset = 0;
        long rangesOffset = 0;
        while (true) {
            boolean last = exited.now() || Thread.currentThread().isInterrupted();
            manager.pullLogs(manager.readState(group));
            // ranges first: the agent records a range before it appends the range's bytes
            long rangesLength = GroupManager.fileLength(rangesFile);
            if (rangesLength > rangesOffset) {
                byte[] text = read(rangesFile, rangesOffset, rangesLength);
                int end = lastNewline(text);
                for (String line : new String(text, 0, end, StandardCharsets.US_ASCII).split("\n")) {
                    if (line.isEmpty()) continue;
                    String[] f = line.split(" ");
                    ranges.add(new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])});
                }
                rangesOffset += end;
            }
            long length = GroupManager.fileLength(log);
            if (length > offset) {
                byte[] bytes = read(log, offset, length);
                int at = 0;
                while (at < bytes.length) {
                    long pos = offset + at;
                    while (!ranges.isEmpty() && ranges.peekFirst()[1] <= pos) ranges.pollFirst();
                    long[] r = ranges.peekFirst();
                    boolean err = r != null && r[0] <= pos;
                    long stop = err ? r[1] : r == null ? offset + bytes.length : r[0];
                    int n = (int) Math.min(stop - pos, bytes.length - at);
                    sink.accept(err, java.util.Arrays.copyOfRange(bytes, at, at + n));
                    at += n;
                }
                offset += bytes.length;
            }
            if (last) break;
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static byte[] read(Path file, long from, long to) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] bytes = new byte[(int) Math.min(to - from, 1 << 20)];
            f.seek(from);
            f.readFully(bytes);
            return bytes;
        }
    }

    /** The length of {@code text} up to and including its last newline (0 without one). */
    private static int lastNewline(byte[] text) {
        for (int i = text.length - 1; i >= 0; i--) if (text[i] == '\n') return i + 1;
        return 0;
    }

    private long drain(ContainerRecord c, long offset, StringBuilder partial, Consumer<String> sink) throws IOException {
        Path log = Path.of(c.logPath());
        long length = GroupManager.fileLength(log);
        if (length <= offset) return offset;
        byte[] bytes;
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            bytes = new byte[(int) Math.min(length - offset, 1 << 20)];
            f.seek(offset);
            f.readFully(bytes);
        }
        partial.append(new String(bytes, StandardCharsets.UTF_8));
        int nl;
        while ((nl = partial.indexOf("\n")) >= 0) {
            sink.accept(label(c) + partial.substring(0, nl));
            partial.delete(0, nl + 1);
        }
        return offset + bytes.length;
    }

    private String label(ContainerRecord c) {
        return prefix ? "[" + c.name() + "] " : "";
    }

    /** Whether the followed containers have exited, asked once per round. */
    private interface ExitCheck {
        boolean now() throws IOException;
    }

    /** {@link #allExited}, asked as {@link #exitCheckInterval} says (false in between). */
    private ExitCheck askingLessOften() {
        long start = System.nanoTime();
        long[] next = {start};
        return () -> {
            long now = System.nanoTime();
            if (now - next[0] < 0) return false;
            next[0] = now + exitCheckInterval((now - start) / 1_000_000) * 1_000_000;
            return allExited();
        };
    }

    /** True when every followed container has exited, or the group stopped, or its agent is gone. */
    private boolean allExited() throws IOException {
        GroupState state = manager.readState(group);
        if (state.status().equals(GroupState.STOPPED)) return true;
        Sandbox sandbox = manager.attach(state);
        if (sandbox == null || !sandbox.agentAlive()) return true;
        try (AgentClient agent = sandbox.connect()) {
            for (ContainerRecord c : containers) {
                Result.ContainerStatus s = agent.call(new Request.WaitContainer(c.name(), 0), Result.ContainerStatus.class);
                if (s.exitCode() == null) return false;
            }
            return true;
        } catch (IOException e) {
            return !sandbox.agentAlive();
        }
    }
}
