package dev.coffer.runtime.group;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where the time of one `coffer run` went, measured on the host: resolving images, layer disks
 * and the policy; launching the sandbox until its agent answered (for a microVM: QEMU, the
 * guest's boot, the agent JVM and its policy load); mounting the layers; creating and starting
 * the containers. Kept as startup.json in the group's directory.
 */
public record StartupTimes(String isolation, long prepareMs, long sandboxMs, long layersMs, long createMs, long startMs,
                           java.util.Map<String, Long> guestMarks, String agentPhases) {
    public StartupTimes {
        guestMarks = guestMarks == null ? java.util.Map.of() : java.util.Map.copyOf(guestMarks);
        agentPhases = agentPhases == null ? "" : agentPhases;
    }

    static final String FILE = "startup.json";
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    public long totalMs() {
        return prepareMs + sandboxMs + layersMs + createMs + startMs;
    }

    /** One line for people, e.g. "started in 22.1 s: prepare 0.2 s, sandbox 19.5 s, ...". */
    public String summary() {
        return String.format(Locale.ROOT, "started in %.1f s: prepare %.1f s, sandbox %.1f s (%s), layers %.1f s,"
                        + " create %.1f s, start %.1f s", totalMs() / 1e3, prepareMs / 1e3, sandboxMs / 1e3,
                isolation.equals("microvm") ? guestSplit() : "agent + policy load", layersMs / 1e3,
                createMs / 1e3, startMs / 1e3);
    }

    /**
     * The sandbox phase of a microVM split by the guest's own marks (its uptime, so the time QEMU
     * takes before the kernel runs is what remains of the host's figure).
     */
    private String guestSplit() {
        Long init = guestMarks.get("started");
        Long agentStarting = guestMarks.get("agent-starting");
        Long jvm = guestMarks.get("agent-jvm-started");
        Long listening = guestMarks.get("agent-listening");
        if (init == null || agentStarting == null || jvm == null || listening == null) return "VM boot + agent + policy load";
        return String.format(Locale.ROOT, "kernel to init %.1f s, init %.1f s, agent JVM %.1f s, agent init %.1f s%s",
                init / 1e3, (agentStarting - init) / 1e3, (jvm - agentStarting) / 1e3, (listening - jvm) / 1e3,
                agentPhases.isEmpty() ? "" : " [" + agentPhases + "]");
    }

    void write(Path groupDir) throws IOException {
        Files.write(groupDir.resolve(FILE), JSON.writeValueAsBytes(this));
    }

    static StartupTimes read(Path groupDir) throws IOException {
        Path f = groupDir.resolve(FILE);
        return Files.exists(f) ? JSON.readValue(f.toFile(), StartupTimes.class) : null;
    }
}
