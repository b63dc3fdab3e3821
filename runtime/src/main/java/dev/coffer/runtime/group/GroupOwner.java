package dev.coffer.runtime.group;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The process that started a group in the foreground and will stop it: pid and start time
 * (so a recycled pid is not mistaken for it), kept as owner in the group's directory until
 * the group is detached or stopped.
 */
record GroupOwner(long pid, String startedAt) {
    private static final String FILE = "owner";

    static GroupOwner of(ProcessHandle process) {
        return new GroupOwner(process.pid(), process.info().startInstant().map(Instant::toString).orElse(""));
    }

    /** True while the owner process (the same one, not a reuse of its pid) runs. */
    boolean alive() {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .map(h -> startedAt.isEmpty() || h.info().startInstant().map(Instant::toString).orElse("").equals(startedAt))
                .orElse(false);
    }

    void write(Path groupDir) throws IOException {
        Files.writeString(groupDir.resolve(FILE), pid + " " + startedAt + "\n");
    }

    static GroupOwner read(Path groupDir) throws IOException {
        Path f = groupDir.resolve(FILE);
        if (!Files.exists(f)) return null;
        String[] parts = Files.readString(f).strip().split(" ", 2);
        try {
            return new GroupOwner(Long.parseLong(parts[0]), parts.length > 1 ? parts[1] : "");
        } catch (NumberFormatException e) {
            return null; // not ours to judge: leave the group alone
        }
    }

    static void clear(Path groupDir) throws IOException {
        Files.deleteIfExists(groupDir.resolve(FILE));
    }
}
