package dev.coffer.runtime.sandbox;

import dev.coffer.layer.LayerDisk;

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

    /** The host process a forced stop kills, as a person would name it (said in the stop's output). */
    default String processDescription() {
        return "the agent (pid " + record().agentPid() + ") and every process it started";
    }

    /**
     * The name under which the agent reads {@code disk}, one of the launch's layer disks: its
     * file in the process sandbox, the block device the VM sees in a microVM. The agent checks
     * the content against the root hash either way; this only says where to read.
     */
    String layerSource(LayerDisk disk);

    /**
     * The name under which the agent reads encrypted volume image {@code disk}: its file in the
     * process sandbox, the block device the VM sees in a microVM.
     */
    default String volumeSource(SandboxBackend.VolumeDisk disk) {
        return disk.file().toString();
    }

    /**
     * True when the agent writes container logs where this host can read them (the process
     * sandbox); false when they live inside the sandbox (a microVM) and the host keeps copies
     * under {@link #logDir()} that it pulls from the agent.
     */
    boolean logsOnHost();

    /** Where the agent keeps container logs (readable even after the agent is gone). */
    Path logDir();

    /**
     * Waits up to {@code millis} for the agent to exit after a shutdown request, then removes
     * whatever is left (processes, containers, mounts, overlay directories) by force. Idempotent.
     */
    void destroy(long millis);

    /**
     * Why this sandbox cannot give its group encrypted scratch, or null when it can. The host
     * sends scratch_mount before the first container in every sandbox (the agent refuses writable
     * layers and emptyDirs before it): with encrypted true where this is null, so the agent keeps
     * them encrypted with a key it made (dev.coffer.agent.volume.ScratchVolume); else with
     * encrypted false, which only a policy with allow_unencrypted_scratch accepts.
     */
    String encryptedScratchUnavailable();

    /**
     * How the sandbox's own start went, from inside: for a microVM the guest's progress marks
     * (name → guest uptime in ms: started, agent-starting, agent-jvm-started, agent-listening).
     * Empty where there is nothing to split (the process sandbox's agent is timed from the host).
     */
    default java.util.Map<String, Long> bootMarks() {
        return java.util.Map.of();
    }

    /** The agent's account of its start ("tee=..ms policy=..ms ..."), or empty. */
    default String bootNotes() {
        return "";
    }
}
