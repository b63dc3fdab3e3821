package dev.coffer.runtime.sandbox;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A sandbox whose agent is a host process; see {@link ProcessSandboxBackend}. */
final class ProcessSandbox implements Sandbox {
    private final SandboxRecord record;
    private final Path groupDir;

    ProcessSandbox(SandboxRecord record, Path groupDir) {
        this.record = record;
        this.groupDir = groupDir;
    }

    @Override
    public SandboxRecord record() {
        return record;
    }

    @Override
    public AgentClient connect() throws IOException {
        if (!agentAlive()) {
            throw new SandboxException("expected the agent (pid " + record.agentPid() + ") to be running, found it gone; "
                    + "see " + groupDir.resolve("agent.log"));
        }
        return AgentClient.connect(Path.of(record.socket()));
    }

    @Override
    public boolean agentAlive() {
        return ProcessSandboxBackend.agentProcess(record).isPresent();
    }

    @Override
    public Path logDir() {
        return Path.of(record.agentStateDir()).resolve("logs");
    }

    @Override
    public void destroy(long millis) {
        Optional<ProcessHandle> agent = ProcessSandboxBackend.agentProcess(record);
        if (agent.isPresent()) {
            try {
                agent.get().onExit().get(Math.max(0, millis), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (Exception notYet) {
                agent.get().destroy();
                try {
                    agent.get().onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
                } catch (Exception stillThere) {
                    agent.get().destroyForcibly();
                }
            }
        }
        // Whatever the agent could not clean up (it crashed, was killed, or lost a container):
        // processes whose root or command line lies in this group, then mounts, then directories.
        killProcessesOf(groupDir);
        for (Path mount : Mounts.mountedUnder(groupDir)) {
            Mounts.unmount(mount);
        }
        Path state = Path.of(record.agentStateDir());
        for (String d : List.of("devices", "containers", "volumes", "oci-state")) {
            Mounts.deleteTree(state.resolve(d));
        }
        try {
            Files.deleteIfExists(state.resolve("netns"));
            Files.deleteIfExists(state.resolve("hosts"));
            Files.deleteIfExists(Path.of(record.socket()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot clean up " + state, e);
        }
    }

    /** Kills (SIGKILL) every process running in a root file system or from a bundle under {@code dir}. */
    static int killProcessesOf(Path dir) {
        int killed = 0;
        for (int round = 0; round < 5; round++) {
            List<ProcessHandle> found = processesOf(dir);
            if (found.isEmpty()) break;
            for (ProcessHandle h : found) {
                if (h.destroyForcibly()) killed++;
            }
            ProcessSandboxBackend.sleep(200);
        }
        return killed;
    }

    static List<ProcessHandle> processesOf(Path dir) {
        String prefix = dir.toString();
        return ProcessHandle.allProcesses().filter(h -> h.pid() != ProcessHandle.current().pid()).filter(h -> {
            Path proc = Path.of("/proc", Long.toString(h.pid()));
            try {
                Path root = Files.readSymbolicLink(proc.resolve("root"));
                if (root.startsWith(dir)) return true;
            } catch (IOException | UnsupportedOperationException ignored) {
                // exited or not readable
            }
            try {
                String cmd = new String(Files.readAllBytes(proc.resolve("cmdline"))).replace('\0', ' ');
                return cmd.contains(prefix + "/");
            } catch (IOException ignored) {
                return false;
            }
        }).toList();
    }
}
