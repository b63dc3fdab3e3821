package dev.coffer.runtime.group;

import dev.coffer.agent.protocol.Result;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/** A started group, for callers such as {@code coffer demo}: thin shortcuts into {@link GroupManager}. */
public record GroupHandle(GroupManager manager, String name, String isolationNotice, String ociRuntime, String enforcer) {

    public ContainerRecord waitFor(String container, Duration timeout) throws IOException {
        return manager.waitFor(name, container, timeout);
    }

    public String logs(String container) throws IOException {
        return manager.readLog(name, container);
    }

    public void followLogs(Consumer<String> lines) throws IOException {
        manager.logs(name, null, true, lines);
    }

    public Result.ExecResult exec(String container, List<String> argv, Duration timeout) throws IOException {
        return manager.exec(name, container, argv, timeout);
    }

    public GroupManager.StopOutcome stop() throws IOException {
        return manager.stop(name, GroupManager.DEFAULT_GRACE);
    }

    /**
     * Stops with a custom grace period. A container whose PID 1 has no SIGTERM handler (busybox
     * httpd, sleep) ignores SIGTERM, so it only ends at the SIGKILL after the grace period.
     */
    public GroupManager.StopOutcome stop(Duration grace) throws IOException {
        return manager.stop(name, grace);
    }

    public void rm() throws IOException {
        manager.rm(name, false);
    }
}
