package dev.coffer.agent;

import dev.coffer.agent.protocol.AgentClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Starts {@link AgentMain} as a separate JVM, the way the process sandbox does. */
final class AgentProcess implements AutoCloseable {
    final Process process;
    final Path socket;
    final Path state;
    final Path log;

    private AgentProcess(Process process, Path socket, Path state, Path log) {
        this.process = process;
        this.socket = socket;
        this.state = state;
        this.log = log;
    }

    static AgentProcess start(Path dir, String name, String... extra) throws Exception {
        Path socket = dir.resolve("agent.sock");
        Path state = dir.resolve("state");
        Path log = dir.resolve("agent.log");
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), AgentMain.class.getName(),
                "--socket", socket.toString(), "--state", state.toString(), "--name", name));
        argv.addAll(List.of(extra));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        for (int i = 0; i < 600; i++) {
            if (Files.exists(socket) && Files.readString(log).contains("READY")) {
                return new AgentProcess(p, socket, state, log);
            }
            if (!p.isAlive()) {
                return new AgentProcess(p, socket, state, log);
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IllegalStateException("agent did not become ready: " + Files.readString(log));
    }

    AgentClient client() throws IOException {
        return AgentClient.connect(socket);
    }

    /**
     * Sends scratch_mount with encrypted false, which tests not about scratch need before any
     * writable layer or emptyDir (the agent refuses them before a scratch_mount in every sandbox);
     * their policy allows it (allow-all, or allow_unencrypted_scratch := true). On this host the
     * process sandbox cannot encrypt anyway: it has no device-mapper.
     */
    void unencryptedScratch(AgentClient c) throws IOException {
        c.call(new dev.coffer.agent.protocol.Request.ScratchMount(state.toAbsolutePath().resolve("scratch").toString(), false),
                dev.coffer.agent.protocol.Result.Done.class);
    }

    String output() throws IOException {
        return Files.readString(log);
    }

    int waitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("agent did not exit");
        }
        return process.exitValue();
    }

    /**
     * After a test: asks a live agent to shut its sandbox down, then removes by force what is
     * left under {@code dir} (the test may have left the agent unreachable).
     */
    static void cleanUp(AgentProcess agent, Path dir) throws IOException {
        if (agent != null && agent.process.isAlive()) {
            try (AgentClient c = agent.client()) {
                c.exchange(new dev.coffer.agent.protocol.Request.ShutdownSandbox(1000));
            } catch (Exception ignored) {
                // fall through to the hard cleanup
            }
            agent.close();
        }
        for (Path m : dev.coffer.agent.container.Mounts.mountedUnder(dir)) {
            dev.coffer.agent.container.Mounts.unmount(m);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
