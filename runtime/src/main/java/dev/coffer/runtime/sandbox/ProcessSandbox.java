package dev.coffer.runtime.sandbox;

import dev.coffer.layer.LayerDisk;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.netns.NetworkNamespaces;
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
    public boolean logsOnHost() {
        return true;
    }

    @Override
    public String layerSource(LayerDisk disk) {
        return disk.file().toAbsolutePath().toString();
    }

    @Override
    public Path logDir() {
        return Path.of(record.agentStateDir()).resolve("logs");
    }

    /**
     * Where the host has device-mapper and loop devices, the agent makes encrypted scratch on a
     * sparse file in its state directory; elsewhere (most containers, this kind of CI host) it
     * cannot, and the group's writable data would be plain files on the host.
     */
    @Override
    public String encryptedScratchUnavailable() {
        return dev.coffer.agent.volume.ScratchVolume.fileUnavailableReason();
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
        // processes in the group's network namespace or started from its directory, then
        // cgroups, mounts and directories.
        String netns = networkNamespaceId(Path.of(record.agentStateDir()).resolve("netns"));
        killProcessesOf(groupDir, netns);
        removeCgroups("coffer-" + groupDir.getFileName() + "-" + record.agentPid() + "-");
        for (Path mount : Mounts.mountedUnder(groupDir)) {
            Mounts.unmount(mount);
        }
        closeScratchMapping();
        Path state = Path.of(record.agentStateDir());
        for (String d : List.of("devices", "containers", "volumes", "scratch", dev.coffer.agent.container.ContainerService.SCRATCH_FILE,
                "oci-state")) {
            Mounts.deleteTree(state.resolve(d));
        }
        try {
            Files.deleteIfExists(state.resolve("netns"));
            Files.deleteIfExists(state.resolve("hosts"));
            Files.deleteIfExists(Path.of(record.socket()));
            // the launch context is the capability to obtain reports for this launch: a stopped
            // group has no use for it, and a later run makes a new launch
            Files.deleteIfExists(groupDir.resolve(SimTeeLaunch.CONTEXT_FILE));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot clean up " + state, e);
        }
    }

    /**
     * An agent that died before shutdown leaves its encrypted scratch mapped (the loop device goes
     * with the mapping): closing it drops the key, so the file left behind is ciphertext no one
     * can read, and a later run of the group can map its own under the same name.
     */
    private void closeScratchMapping() {
        String name = dev.coffer.agent.volume.ScratchVolume.mapperNameFor(groupDir.getFileName().toString());
        if (!Files.exists(Path.of("/dev/mapper", name))) return;
        try {
            Process p = new ProcessBuilder("cryptsetup", "close", name).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (IOException e) {
            // no cryptsetup: nothing could have mapped it either
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Removes the (now empty) cgroups runc created for the agent's containers. runc removes them
     * itself when a container ends normally; a container killed behind its back leaves them.
     */
    static void removeCgroups(String prefix) {
        Path root = Path.of("/sys/fs/cgroup");
        if (!Files.isDirectory(root)) return;
        List<Path> hierarchies = new java.util.ArrayList<>(List.of(root));
        try (var controllers = Files.list(root)) {
            controllers.filter(Files::isDirectory).forEach(hierarchies::add);
        } catch (IOException e) {
            return;
        }
        for (Path hierarchy : hierarchies) {
            try (var groups = Files.list(hierarchy)) {
                for (Path g : groups.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                    try {
                        Files.delete(g); // rmdir: succeeds only once no process is left in it
                    } catch (IOException stillBusy) {
                        // a process survived SIGKILL (uninterruptible sleep); nothing more to do here
                    }
                }
            } catch (IOException | UnsupportedOperationException ignored) {
                // not a directory we may list
            }
        }
    }

    /**
     * "net:[INODE]" of the namespace bind-mounted at {@code file}, or null when none is, or when it
     * is this process's own (the host's): the agent refuses to adopt that one, and were it there
     * anyway, ending "every process of the group's namespace" would end the host's.
     */
    static String networkNamespaceId(Path file) {
        if (!Mounts.isMountPoint(file)) return null;
        try {
            if (NetworkNamespaces.isOwn(file)) return null;
            return "net:[" + Files.getAttribute(file, "unix:ino") + "]";
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * Kills (SIGKILL) every process in the network namespace {@code netns} (every container of
     * the group joined it) or whose command line names a path under {@code dir} (runc, the agent).
     * A container's /proc/PID/root cannot be used: it reads "/" inside its own mount namespace.
     */
    static int killProcessesOf(Path dir, String netns) {
        int killed = 0;
        for (int round = 0; round < 5; round++) {
            List<ProcessHandle> found = processesOf(dir, netns);
            if (found.isEmpty()) break;
            for (ProcessHandle h : found) {
                if (h.destroyForcibly()) killed++;
            }
            ProcessSandboxBackend.sleep(200);
        }
        return killed;
    }

    static List<ProcessHandle> processesOf(Path dir, String netns) {
        String prefix = dir.toString();
        return ProcessHandle.allProcesses().filter(h -> h.pid() != ProcessHandle.current().pid()).filter(h -> {
            Path proc = Path.of("/proc", Long.toString(h.pid()));
            if (netns != null) {
                try {
                    if (Files.readSymbolicLink(proc.resolve("ns/net")).toString().equals(netns)) return true;
                } catch (IOException | UnsupportedOperationException ignored) {
                    // exited or not readable
                }
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
