package dev.coffer.runtime.sandbox;

import dev.coffer.agent.protocol.AgentClient;

import java.io.IOException;
import java.nio.file.Path;

/** One running (or dead) sandbox with its agent. */
public interface Sandbox {
    SandboxRecord record();

    /** A new connection to the agent; the caller closes it. */
    AgentClient connect() throws IOException;

    /** True while the agent process is alive. */
    boolean agentAlive();

    /** Where the agent keeps container logs (readable even after the agent is gone). */
    Path logDir();

    /**
     * Waits up to {@code millis} for the agent to exit after a shutdown request, then removes
     * whatever is left (processes, containers, mounts, overlay directories) by force. Idempotent.
     */
    void destroy(long millis);
}
