package dev.coffer.runtime.sandbox;

import dev.coffer.agent.AgentMain;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The agent as a host process, containers run by runc/crun on the host. For development and
 * machines without KVM; it isolates nothing and says so.
 */
public final class ProcessSandboxBackend implements SandboxBackend {
    public static final String NAME = "process";
    private static final long READY_TIMEOUT_MILLIS = 60_000;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String isolationNotice() {
        return "warning: the process sandbox isolates nothing from the host: containers run as host processes"
                + " under runc/crun, with no TEE and no attestation; the agent enforces the policy, but the host could"
                + " bypass it (use --isolation microvm for isolation)";
    }

    @Override
    public Sandbox launch(LaunchRequest request) throws IOException {
        Path groupDir = request.groupDir().toAbsolutePath();
        Path socket = groupDir.resolve("agent.sock");
        Path state = groupDir.resolve("sandbox");
        Path log = groupDir.resolve("agent.log");
        Files.createDirectories(groupDir);
        Files.deleteIfExists(socket);
        List<String> argv = new ArrayList<>();
        // setsid: the agent and its containers leave the CLI's session, so Ctrl-C in the
        // terminal reaches only the CLI (which then stops the group in order) and the group
        // outlives the CLI when detached.
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) argv.add("/usr/bin/setsid");
        argv.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // full tiered compilation: the agent hashes whole layer disks where there is no
                // dm-verity, and C1 alone has no SHA-256 intrinsic
                "-XX:+UseSerialGC", "-Xmx128m",
                "-cp", AgentClasspath.current(), AgentMain.class.getName(),
                "--socket", socket.toString(), "--state", state.toString(), "--name", request.groupName(),
                "--policy", request.policy(), "--runtime", request.ociRuntime()));
        if (!request.policy().equals("allow-all")) {
            // What a launcher does: bind the launch to SHA-256(policy) as HOST_DATA. The agent checks
            // the policy it reads against this value and refuses to start on a mismatch.
            argv.addAll(List.of("--host-data", java.util.HexFormat.of().formatHex(
                    dev.coffer.attest.measure.HostData.ofPolicy(Files.readAllBytes(Path.of(request.policy()))))));
        }
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true);
        pb.environment().putAll(request.environment());
        Process process = pb.start();
        long deadline = System.nanoTime() + READY_TIMEOUT_MILLIS * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new SandboxException("expected the agent to start, it exited with code " + process.exitValue()
                        + ": " + lastLines(log) + " (full log: " + log + ")");
            }
            if (Files.exists(socket) && readyLine(log)) {
                Instant started = process.toHandle().info().startInstant().orElse(Instant.EPOCH);
                return new ProcessSandbox(new SandboxRecord(NAME, process.pid(), started.toString(), socket.toString(),
                        state.toString()), groupDir);
            }
            sleep(25);
        }
        process.destroyForcibly();
        throw new SandboxException("expected the agent to answer within " + READY_TIMEOUT_MILLIS / 1000
                + " s, it did not; see " + log);
    }

    @Override
    public Sandbox attach(SandboxRecord record) {
        return new ProcessSandbox(record, Path.of(record.socket()).getParent());
    }

    private static boolean readyLine(Path log) throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8).contains("READY ");
    }

    static String lastLines(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            List<String> tail = lines.subList(Math.max(0, lines.size() - 3), lines.size());
            String joined = String.join(" ", tail).strip();
            return joined.isEmpty() ? "(the agent printed nothing)" : joined;
        } catch (IOException e) {
            return "(no agent log)";
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The agent process of a record, if it still runs and is the same process (not a reused pid). */
    static Optional<ProcessHandle> agentProcess(SandboxRecord record) {
        return ProcessHandle.of(record.agentPid()).filter(ProcessHandle::isAlive).filter(h -> h.info().startInstant()
                .map(i -> i.toString().equals(record.agentStartedAt())).orElse(true));
    }
}
