package dev.coffer.runtime.group;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.runtime.sandbox.Sandbox;
import dev.coffer.runtime.sandbox.SandboxBackend;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The second step of a group's life: its directory made and its sandbox launched (the agent
 * running under the group's policy, with the layer and volume disks attached), no container yet.
 * The step owns the group directory until its containers start: when the launch fails, it removes
 * what it made; when a later step fails, {@link #abandon} does.
 *
 * @param dir        the group's directory under the Coffer home
 * @param sandboxMs  how long the launch took (the startup report's "sandbox")
 */
record LaunchedGroup(PreparedGroup prepared, Path dir, Sandbox sandbox, long sandboxMs) {

    /** Launches {@code prepared}'s sandbox in the group directory {@code dir}; {@code home} is the Coffer home. */
    static LaunchedGroup launch(PreparedGroup prepared, Path dir, Path home) throws IOException {
        if (Files.exists(dir)) {
            // leftovers of a run that crashed before writing its state: clean them first
            for (Path m : Mounts.mountedUnder(dir)) Mounts.unmount(m);
            Mounts.deleteTree(dir);
        }
        Files.createDirectories(dir);
        GroupOwner.of(ProcessHandle.current()).write(dir);
        String agentPolicy = RunOptions.ALLOW_ALL;
        if (prepared.policyText() != null) {
            Path policyFile = dir.resolve("policy.rego");
            Files.writeString(policyFile, prepared.policyText(), StandardCharsets.UTF_8);
            agentPolicy = policyFile.toString();
        }
        RunOptions options = prepared.options();
        long t0 = System.nanoTime();
        try {
            Sandbox sandbox = prepared.backend().launch(new SandboxBackend.LaunchRequest(prepared.spec().name(), dir,
                    options.ociRuntime(), agentPolicy, options.agentEnvironment(), prepared.attachedDisks(), options.tee(),
                    home.resolve(GroupManager.SIM_TEE_DIR), prepared.skrPort(), prepared.endpoints(), prepared.tcpPorts(),
                    prepared.volumeDisks(), options.snp(), options.networkNamespace()));
            return new LaunchedGroup(prepared, dir, sandbox, (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException e) {
            for (Path m : Mounts.mountedUnder(dir)) Mounts.unmount(m);
            Mounts.deleteTree(dir);
            throw new GroupException("cannot start the sandbox of group " + prepared.spec().name() + ": " + e.getMessage(), e);
        }
    }

    /** Best-effort teardown of a group that failed to start; the original error is what matters. */
    void abandon() {
        try (AgentClient agent = sandbox.connect()) {
            agent.exchange(new Request.ShutdownSandbox(2000));
        } catch (IOException | RuntimeException ignored) {
            // the forced cleanup below handles a dead or stuck agent
        }
        try {
            sandbox.destroy(15_000);
            Mounts.deleteTree(dir);
        } catch (RuntimeException ignored) {
            // reported by `coffer ps` as leftovers; the start failure is the error the user sees
        }
    }
}
