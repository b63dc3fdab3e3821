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
        while (true) {
            // decide whether this is the last round before reading, so output written just
            // before the containers exited is still delivered
            boolean last = !follow || allExited() || Thread.currentThread().isInterrupted();
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
