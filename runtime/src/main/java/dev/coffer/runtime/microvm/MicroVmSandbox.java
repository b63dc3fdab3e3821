package dev.coffer.runtime.microvm;

import dev.coffer.layer.LayerDisk;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.runtime.sandbox.Sandbox;
import dev.coffer.runtime.sandbox.SandboxException;
import dev.coffer.runtime.sandbox.SandboxRecord;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A group's microVM; see {@link MicroVmSandboxBackend}. The record's pid is QEMU's. */
final class MicroVmSandbox implements Sandbox {
    private final SandboxRecord record;
    private final Path runDir;

    MicroVmSandbox(SandboxRecord record, Path runDir) {
        this.record = record;
        this.runDir = runDir;
    }

    Path runDir() {
        return runDir;
    }

    @Override
    public SandboxRecord record() {
        return record;
    }

    /**
     * A connection over the VM's virtio-serial port. QEMU serves one connection at a time:
     * a second one waits, connected, until the first is closed.
     */
    @Override
    public AgentClient connect() throws IOException {
        if (!agentAlive()) {
            throw new SandboxException("expected the group's microVM (QEMU pid " + record.agentPid() + ") to be running, found it gone; "
                    + "see the guest console " + runDir.resolve("console.log"));
        }
        return MicroVm.connectRelay(Path.of(record.socket()));
    }

    @Override
    public boolean agentAlive() {
        return MicroVm.process(record.agentPid(), record.agentStartedAt()).isPresent();
    }

    @Override
    public String processDescription() {
        return "the microVM's QEMU (pid " + record.agentPid() + ")";
    }

    /** Container and decision logs live inside the VM; the host keeps copies it pulls with read_logs/read_decision_log. */
    @Override
    public boolean logsOnHost() {
        return false;
    }

    @Override
    public String layerSource(LayerDisk disk) {
        return "/dev/disk/by-id/virtio-" + MicroVmSandboxBackend.layerSerial(disk);
    }

    @Override
    public String volumeSource(dev.coffer.runtime.sandbox.SandboxBackend.VolumeDisk disk) {
        return dev.coffer.agent.volume.EncryptedVolumes.diskPath(disk.name());
    }

    @Override
    public Path logDir() {
        return runDir.resolve("logs");
    }

    @Override
    public java.util.Map<String, Long> bootMarks() {
        java.util.Map<String, Long> marks = new java.util.LinkedHashMap<>();
        for (String line : consoleLines()) {
            int at = line.indexOf("COFFER-INIT ");
            if (at < 0) continue;
            String[] words = line.substring(at + "COFFER-INIT ".length()).split(" ");
            if (words.length == 2 && words[1].startsWith("uptime=")) {
                try {
                    marks.putIfAbsent(words[0], Math.round(Double.parseDouble(words[1].substring("uptime=".length())) * 1000));
                } catch (NumberFormatException e) {
                    // a garbled console line: the mark is informative only
                }
            }
        }
        return marks;
    }

    @Override
    public String bootNotes() {
        for (String line : consoleLines()) {
            int at = line.indexOf("coffer-agent: startup ");
            if (at >= 0) return line.substring(at + "coffer-agent: startup ".length()).strip();
        }
        return "";
    }

    private java.util.List<String> consoleLines() {
        try {
            Path log = runDir.resolve("console.log");
            return Files.exists(log) ? Files.readAllLines(log, java.nio.charset.StandardCharsets.ISO_8859_1) : java.util.List.of();
        } catch (IOException e) {
            return java.util.List.of();
        }
    }

    String consoleTail() {
        Path log = runDir.resolve("console.log");
        try {
            if (!Files.exists(log)) return "(no guest console output)";
            List<String> lines = Files.readAllLines(log);
            int from = Math.max(0, lines.size() - 6);
            // a Java failure's first lines say what broke; the last lines only that the agent exited
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).startsWith("Exception in thread") || lines.get(i).startsWith("coffer-agent:")) {
                    from = Math.min(from, i);
                    break;
                }
            }
            List<String> shown = new ArrayList<>(lines.subList(from, Math.min(lines.size(), from + 12)));
            if (from + 12 < lines.size()) {
                shown.add("...");
                shown.addAll(lines.subList(Math.max(from + 12, lines.size() - 3), lines.size()));
            }
            return String.join(" | ", shown);
        } catch (IOException e) {
            return "(guest console unreadable: " + e.getMessage() + ")";
        }
    }

    /** Every launch attaches a scratch disk (MicroVmSandboxBackend#scratchDisk) the guest encrypts. */
    @Override
    public String encryptedScratchUnavailable() {
        return null;
    }

    /**
     * Waits for QEMU to exit (the agent powers the guest off after shutdown_sandbox), then kills
     * it, and removes its socket and pid file. The console log stays for `coffer logs --guest`.
     */
    @Override
    public void destroy(long millis) {
        var qemu = MicroVm.process(record.agentPid(), record.agentStartedAt());
        if (qemu.isPresent()) {
            try {
                qemu.get().onExit().get(Math.max(0, millis), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (Exception notYet) {
                MicroVm.kill(record.agentPid(), record.agentStartedAt(), Duration.ofSeconds(5));
            }
        }
        // the launch disk and context carry the simulated chip's key with --tee sim: gone with the VM;
        // the scratch disk is ciphertext under a key that died with the guest: nothing to keep
        for (String f : List.of("agent.sock", "qemu.pid", "launch.img", "launch-context.json", MicroVmSandboxBackend.SCRATCH_DISK_FILE)) {
            try {
                Files.deleteIfExists(runDir.resolve(f));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot remove " + runDir.resolve(f), e);
            }
        }
    }
}
