package dev.coffer.runtime.group;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;

/**
 * An exec process in a group's container that the caller drives (started by
 * {@link GroupManager#startExec}): its stdin written in chunks, its output read by offset, its
 * signals sent, each one agent request on a connection of its own, so a microVM's single relayed
 * session is held for one request at a time, never for the process's life.
 */
public final class ExecStream {
    /** How long to wait before offering stdin again when the process has not read the backlog yet. */
    private static final Duration BACKLOG_RETRY = Duration.ofMillis(50);
    /** How many times: a process that reads nothing for this long leaves the writer with an error, not a hang. */
    private static final int BACKLOG_RETRIES = 1200;

    private final GroupManager manager;
    private final String group;
    private final String container;
    private final String execID;

    ExecStream(GroupManager manager, String group, String container, String execID) {
        this.manager = manager;
        this.group = group;
        this.container = container;
        this.execID = execID;
    }

    public String execID() {
        return execID;
    }

    /** Writes {@code data} into the process's stdin (in chunks the agent accepts), then closes it when {@code close}. */
    public void write(byte[] data, int length, boolean close) throws IOException {
        int at = 0;
        do {
            int n = Math.min(length - at, Request.MAX_STDIN_CHUNK);
            boolean last = at + n == length;
            byte[] chunk = Arrays.copyOfRange(data, at, at + n);
            send(new Request.WriteExecStdin(container, execID, chunk, close && last));
            at += n;
        } while (at < length);
    }

    private void send(Request.WriteExecStdin w) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                call(w, Result.Done.class);
                return;
            } catch (AgentClient.AgentCallException e) {
                boolean backlogFull = e.failure().code().equals(Response.Failure.CONFLICT) && e.failure().reason().contains("waiting");
                if (!backlogFull || attempt >= BACKLOG_RETRIES) throw e;
            }
            try {
                Thread.sleep(BACKLOG_RETRY);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while writing stdin of exec " + execID);
            }
        }
    }

    /** Output from the given offsets, waiting up to {@code wait} (the agent caps it) when there is none yet. */
    public Result.ExecOutput read(long stdoutOffset, long stderrOffset, Duration wait) throws IOException {
        return call(new Request.ReadExecOutput(container, execID, stdoutOffset, stderrOffset, 0, wait.toMillis()),
                Result.ExecOutput.class);
    }

    /** Sends {@code signal} to the process (the policy judges it against the container's exec_processes). */
    public void signal(int signal) throws IOException {
        call(new Request.SignalContainerProcess(container, signal, execID), Result.Done.class);
    }

    private <R extends Result> R call(Request request, Class<R> type) throws IOException {
        try (AgentClient agent = manager.agentOf(group)) {
            return agent.call(request, type);
        }
    }
}
