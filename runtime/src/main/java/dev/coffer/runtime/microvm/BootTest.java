package dev.coffer.runtime.microvm;

import dev.coffer.runtime.guest.LaunchDisk;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.runtime.guest.GuestImage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Boots the guest twice and splits the time: a bare boot of the same kernel and initramfs to
 * init (the floor any microVM pays here), then the Coffer guest up to the agent's first answer
 * over the virtio-serial protocol. Every wait is bounded; QEMU is killed on every path.
 */
public final class BootTest {
    /** Times in milliseconds from QEMU's launch. */
    public record Timings(Accelerator accelerator, long bareToInitMs, long toInitMs, long toRootSwitchedMs,
                          long toModulesLoadedMs, long toAgentStartingMs, long toJvmStartedMs, long toAgentListeningMs,
                          long toAgentAnsweredMs, String properties, String agentPhases) {
        /** Time Coffer adds on top of a bare boot to init. */
        public long cofferOverheadMs() {
            return toAgentAnsweredMs - bareToInitMs;
        }
    }

    private BootTest() {}

    public static Timings run(GuestImage guest, Accelerator accelerator, Path runRoot, Duration timeout) throws IOException {
        long bareToInit = bareBootToInitMs(guest, accelerator, runRoot, timeout);
        Path dir = Files.createTempDirectory(runRoot, "vm");
        // the agent reads what to run from the launch disk: here a development launch that runs nothing
        Path launch = dir.resolve("launch.img");
        LaunchDisk.write(launch, LaunchDisk.Content.of("boot-test", null, null, "crun"));
        MicroVm.Config config = MicroVm.Config.forAgent(guest, dir, accelerator)
                .withDisks(List.of(new MicroVm.Disk(launch, LaunchDisk.SERIAL, true)));
        try (MicroVm vm = MicroVm.start(config, timeout)) {
            long t0 = vm.startNanos();
            Result.Properties props;
            long answered;
            try (AgentClient client = vm.connectAgent(Duration.ofSeconds(30))) {
                CompletableFuture<Result.Properties> first = CompletableFuture.supplyAsync(() -> {
                    try {
                        client.call(new Request.Ping(), Result.class, timeout); // answered once the guest has booted
                        return client.call(new Request.GetProperties(), Result.Properties.class);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, r -> Thread.ofVirtual().start(r));
                try {
                    props = awaitAnswer(vm, first, timeout);
                } finally {
                    answered = System.nanoTime();
                }
                client.call(new Request.ShutdownSandbox(2000), Result.class);
            }
            vm.awaitExit(Duration.ofSeconds(30));
            return new Timings(accelerator, bareToInit, ms(vm.markNanos("started") - t0),
                    ms(vm.markNanos("switched-root") - t0), ms(vm.markNanos("modules-loaded") - t0),
                    ms(vm.markNanos("agent-starting") - t0), ms(vm.markNanos("agent-jvm-started") - t0),
                    ms(vm.markNanos("agent-listening") - t0), ms(answered - t0), props.toString(), agentPhases(vm));
        } finally {
            deleteTree(dir);
        }
    }

    /**
     * Boots {@code guest}'s kernel and initramfs with nothing of Coffer's (init powers off at
     * once) and returns the milliseconds from QEMU's launch to init: the floor any microVM pays
     * on this host, the baseline Coffer's start is compared with.
     */
    public static long bareBootToInitMs(GuestImage guest, Accelerator accelerator, Path runRoot, Duration timeout) throws IOException {
        Files.createDirectories(runRoot);
        Path bareDir = Files.createTempDirectory(runRoot, "bare");
        try {
            MicroVm.Config bare = new MicroVm.Config(guest, bareDir, guest.bareCmdline(), 256, accelerator, List.of(), false, List.of(), List.of());
            try (MicroVm vm = MicroVm.start(bare, timeout)) {
                long ms = ms(vm.awaitMark("started", timeout) - vm.startNanos());
                vm.awaitExit(Duration.ofSeconds(30));
                return ms;
            }
        } finally {
            deleteTree(bareDir);
        }
    }

    /** The agent's own account of its start ("tee=..ms policy=..ms ..."), from the console; empty if absent. */
    private static String agentPhases(MicroVm vm) throws IOException {
        if (!Files.exists(vm.consoleLog())) return "";
        for (String line : Files.readAllLines(vm.consoleLog(), java.nio.charset.StandardCharsets.ISO_8859_1)) {
            int at = line.indexOf("coffer-agent: startup ");
            if (at >= 0) return line.substring(at + "coffer-agent: startup ".length()).strip();
        }
        return "";
    }

    /** Waits for the agent's answer; meanwhile fails fast if the guest's init reports a failure or the VM stops. */
    static <T> T awaitAnswer(MicroVm vm, CompletableFuture<T> answer, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return answer.get(100, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (vm.markNanos("failed") != null) throw new IOException("the guest init failed: " + vm.consoleTail());
                if (!vm.isRunning()) throw new IOException("expected the agent to answer, found the VM stopped: " + vm.consoleTail());
                if (System.nanoTime() > deadline) {
                    throw new IOException("expected the agent to answer within " + timeout.toSeconds() + " s, found no answer: "
                            + vm.consoleTail());
                }
            } catch (ExecutionException e) {
                Throwable c = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
                throw new IOException("the agent did not answer: " + c.getMessage() + "; console: " + vm.consoleTail(), c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the agent", e);
            }
        }
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (var s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
