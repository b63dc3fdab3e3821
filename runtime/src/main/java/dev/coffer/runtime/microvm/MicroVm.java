package dev.coffer.runtime.microvm;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.guest.GuestNetwork;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * One running QEMU microVM: {@code -M microvm} with the PVH kernel, virtio-mmio devices (a
 * virtio-serial port for the agent, virtio-blk disks found by serial, optional user-mode network
 * restricted to forwarded ports), the serial console read by this process into a log file.
 *
 * <p>Lifetime: {@link #close()} kills QEMU and removes its sockets and run directory, on every
 * path. QEMU runs under a small shell watchdog holding this JVM's pipe: if this JVM dies, even by
 * kill -9, the pipe closes and the watchdog kills QEMU, so no VM outlives its owner.
 */
public final class MicroVm implements AutoCloseable {
    private static final Pattern SERIAL = Pattern.compile("[A-Za-z0-9._-]{1,20}");
    /**
     * Virtual CPUs per VM: one. Two, where the host has them, took a group's start here from
     * 30.6 s to 21.7 s under TCG (the agent's class linking, C1 compiles and GC run beside its
     * main thread), but one of three such runs then hung: the host waited for an agent answer
     * over the virtio-serial relay that never came. Until that is understood, one.
     */
    static final int VCPUS = 1;

    /** A disk attached as virtio-blk, found in the guest by {@code serial} (virtio-blk keeps 20 bytes). */
    public record Disk(Path file, String serial, boolean readOnly) {
        public Disk {
            if (!SERIAL.matcher(serial).matches()) {
                throw new IllegalArgumentException("expected a disk serial of 1-20 letters, digits, '.', '_' or '-', found \"" + serial + "\"");
            }
        }
    }

    /** A TCP port of the guest made reachable on the host's 127.0.0.1 only. */
    public record PortForward(int hostPort, int guestPort) {
        public PortForward {
            if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
                throw new IllegalArgumentException("expected ports 1..65535, found host " + hostPort + " guest " + guestPort);
            }
        }
    }

    /**
     * @param network  user-mode networking (restrict=on: nothing in or out but {@code forwards} and {@code outbound})
     * @param outbound endpoints the guest may connect to, each through its forwarded guest address
     *                 (see {@link GuestNetwork}); QEMU runs {@code socat} per connection to reach it
     */
    public record Config(GuestImage guest, Path runDir, String cmdline, int memoryMib, Accelerator accelerator,
                         List<Disk> disks, boolean network, List<PortForward> forwards, List<GuestNetwork.Endpoint> outbound) {
        public Config {
            disks = List.copyOf(disks);
            forwards = List.copyOf(forwards);
            outbound = List.copyOf(outbound);
            if (memoryMib < 128) throw new IllegalArgumentException("expected at least 128 MiB of guest memory, found " + memoryMib);
        }

        /** The agent VM of {@code guest}: its measured command line, the agent disk, 256 MiB. */
        public static Config forAgent(GuestImage guest, Path runDir, Accelerator accelerator) {
            return new Config(guest, runDir, guest.cmdline(), 256, accelerator,
                    List.of(new Disk(guest.agentDisk(), GuestImage.AGENT_DISK_SERIAL, true)), false, List.of(), List.of());
        }

        public Config withDisks(List<Disk> more) {
            List<Disk> all = new ArrayList<>(disks);
            all.addAll(more);
            return new Config(guest, runDir, cmdline, memoryMib, accelerator, all, network, forwards, outbound);
        }

        public Config withNetwork(List<PortForward> forwards, List<GuestNetwork.Endpoint> outbound) {
            return new Config(guest, runDir, cmdline, memoryMib, accelerator, disks, true, forwards, outbound);
        }
    }

    private final Config config;
    private final Process watchdog;
    private final long startNanos;
    private final Map<String, Long> consoleMarks = new ConcurrentHashMap<>();
    private final Object consoleSignal = new Object();
    private volatile boolean consoleClosed;
    private SocketChannel console;

    private MicroVm(Config config, Process watchdog, long startNanos) {
        this.config = config;
        this.watchdog = watchdog;
        this.startNanos = startNanos;
    }

    public Path agentSocket() {
        return config.runDir().resolve("agent.sock");
    }

    public Path consoleLog() {
        return config.runDir().resolve("console.log");
    }

    /** When QEMU was launched, on the {@link System#nanoTime()} clock. */
    public long startNanos() {
        return startNanos;
    }

    /** The QEMU command line for {@code config} (exposed for tests and for `--verbose`). */
    public static List<String> qemuCommand(Config c, boolean detached) {
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64",
                // no option ROMs, no auto-added virtio_mmio.device= parameters: the command line stays the measured one
                "-M", "microvm,x-option-roms=off,auto-kernel-cmdline=off",
                "-accel", c.accelerator().qemuName(), "-cpu", c.accelerator().cpu(),
                "-m", c.memoryMib() + "M", "-smp", Integer.toString(VCPUS),
                "-nodefaults", "-no-user-config", "-no-reboot",
                "-kernel", c.guest().kernel().toString(), "-initrd", c.guest().initrd().toString(),
                "-append", c.cmdline()));
        cmd.addAll(devices(c, Transport.MMIO, detached));
        return cmd;
    }

    /**
     * How the guest's virtio devices are attached: memory-mapped on the microvm machine, PCI on
     * q35 (SEV-SNP). A confidential guest's devices must use the platform's DMA API (bounce
     * buffers in shared memory): the guest kernel refuses a virtio device without
     * VIRTIO_F_ACCESS_PLATFORM there, which QEMU offers with {@code iommu_platform=on}.
     */
    enum Transport {
        MMIO("-device", ""),
        PCI("-pci", ",disable-legacy=on,iommu_platform=on");

        private final String suffix;
        private final String options;

        Transport(String suffix, String options) {
            this.suffix = suffix;
            this.options = options;
        }

        String device(String kind) {
            return "virtio-" + kind + suffix;
        }
    }

    /**
     * What every machine has: the serial console (a socket this process reads, or a file when
     * detached), the agent's virtio-serial port, the pid file, the disks by serial and the
     * restricted user-mode network.
     */
    static List<String> devices(Config c, Transport transport, boolean detached) {
        Path run = c.runDir();
        List<String> cmd = new ArrayList<>();
        if (detached) {
            // outlives this JVM: console to a file, QEMU daemonizes itself once its devices are up
            cmd.addAll(List.of("-display", "none", "-daemonize",
                    "-chardev", "file,id=console,path=" + run.resolve("console.log"), "-serial", "chardev:console"));
        } else {
            cmd.addAll(List.of("-nographic",
                    "-chardev", "socket,id=console,path=" + run.resolve("console.sock") + ",server=on,wait=on",
                    "-serial", "chardev:console"));
        }
        cmd.addAll(List.of(
                "-device", transport.device("serial") + transport.options,
                "-chardev", "socket,id=agent,path=" + run.resolve("agent.sock") + ",server=on,wait=off",
                "-device", "virtserialport,chardev=agent,name=" + GuestImage.AGENT_PORT_NAME,
                "-pidfile", run.resolve("qemu.pid").toString()));
        int i = 0;
        for (Disk d : c.disks()) {
            String id = "disk" + i++;
            cmd.addAll(List.of("-drive", "id=" + id + ",file=" + d.file() + ",format=raw,if=none"
                            + (d.readOnly() ? ",read-only=on" : ""),
                    "-device", transport.device("blk") + transport.options + ",drive=" + id + ",serial=" + d.serial()));
        }
        if (c.network()) {
            StringBuilder netdev = new StringBuilder("user,id=net0,restrict=on");
            for (PortForward f : c.forwards()) {
                netdev.append(",hostfwd=tcp:127.0.0.1:").append(f.hostPort()).append("-:").append(f.guestPort());
            }
            for (GuestNetwork.Endpoint e : c.outbound()) {
                // slirp runs the command per guest connection, its socket on stdin/stdout (no shell:
                // the words are split on spaces, and the endpoint's shape admits no space or comma)
                netdev.append(",guestfwd=tcp:").append(e.via()).append("-cmd:socat STDIO TCP:").append(e.host()).append(':').append(e.port());
            }
            // no PXE option ROM on PCI: the firmware would run code the launch never measured
            cmd.addAll(List.of("-netdev", netdev.toString(), "-device", transport.device("net") + transport.options
                    + ",netdev=net0" + (transport == Transport.PCI ? ",romfile=" : "")));
        }
        return cmd;
    }

    /**
     * Launches QEMU and attaches the console reader (QEMU waits for it before the guest runs, so
     * no early line is lost). Throws, with QEMU killed, if QEMU does not come up in {@code timeout}.
     */
    public static MicroVm start(Config config, Duration timeout) throws IOException {
        Files.createDirectories(config.runDir());
        if (config.runDir().resolve("agent.sock").toString().length() > 100) {
            throw new IllegalArgumentException("expected a run directory path short enough for UNIX sockets (< 90 chars), found "
                    + config.runDir());
        }
        List<String> shell = new ArrayList<>(List.of("sh", "-c",
                // fd 3 is this JVM's pipe: when it closes (the JVM exited, however it exited) QEMU is killed
                "exec 3<&0; \"$@\" </dev/null & q=$!; { read -r _ <&3; kill -9 $q 2>/dev/null; } & w=$!; "
                        + "wait $q; s=$?; kill $w 2>/dev/null; exit $s", "coffer-vm-watchdog"));
        shell.addAll(qemuCommand(config, false));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(shell)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(config.runDir().resolve("qemu.log").toFile()))
                .redirectErrorStream(true)
                .start();
        MicroVm vm = new MicroVm(config, p, t0);
        try {
            vm.attachConsole(timeout);
            return vm;
        } catch (IOException | RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /**
     * Launches QEMU as a daemon that outlives this JVM (a group started by one `coffer run` is
     * used by later commands) and returns its pid once QEMU has daemonized. The console goes to
     * {@code console.log} in the run directory. The caller owns the VM: kill it with
     * {@link #kill(long, String, Duration)}.
     */
    public static long startDetached(Config config, Duration timeout) throws IOException {
        return startDetached(config, qemuCommand(config, true), timeout);
    }

    /** As {@link #startDetached(Config, Duration)}, with another machine's detached command line for the same config. */
    static long startDetached(Config config, List<String> command, Duration timeout) throws IOException {
        Files.createDirectories(config.runDir());
        Path pidFile = config.runDir().resolve("qemu.pid");
        Files.deleteIfExists(pidFile);
        Path log = config.runDir().resolve("qemu.log");
        Process p = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        try {
            // with -daemonize the foreground process exits once the VM's devices are set up
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException("expected QEMU to daemonize within " + timeout.toSeconds() + " s, it did not: "
                        + tail(log));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting QEMU", e);
        }
        if (p.exitValue() != 0 || !Files.exists(pidFile)) {
            throw new IOException("expected QEMU to start, it exited with status " + p.exitValue() + ": " + tail(log));
        }
        return Long.parseLong(Files.readString(pidFile).strip());
    }

    /** SIGTERM, then SIGKILL after {@code grace}, the QEMU with this pid and start time (not a reused pid). */
    public static void kill(long pid, String startedAt, Duration grace) {
        java.util.Optional<ProcessHandle> h = process(pid, startedAt);
        if (h.isEmpty()) return;
        h.get().destroy();
        try {
            h.get().onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception notYet) {
            h.get().destroyForcibly();
            try {
                h.get().onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // SIGKILL not yet delivered after 10 s: the process is in uninterruptible sleep
            }
        }
    }

    /** The live process with this pid, if its start time matches (pids are reused). */
    public static java.util.Optional<ProcessHandle> process(long pid, String startedAt) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> startedAt == null || h.info().startInstant().map(i -> i.toString().equals(startedAt)).orElse(true))
                .filter(h -> h.info().command().map(c -> c.contains("qemu")).orElse(true));
    }

    static String tail(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log).strip().replace('\n', ' ') : "(no QEMU output)";
        } catch (IOException e) {
            return "(QEMU log unreadable)";
        }
    }

    private void attachConsole(Duration timeout) throws IOException {
        Path sock = config.runDir().resolve("console.sock");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!watchdog.isAlive()) {
                throw new IOException("expected QEMU to start, found it exited with status " + watchdog.exitValue() + ": " + qemuLogTail());
            }
            if (Files.exists(sock)) {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    ch.connect(UnixDomainSocketAddress.of(sock));
                    console = ch;
                    break;
                } catch (IOException e) {
                    ch.close();
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("expected QEMU's console socket within " + timeout.toSeconds() + " s, found none: " + qemuLogTail());
            }
            sleep(10);
        }
        Thread.ofPlatform().daemon().name("vm-console").start(this::readConsole);
    }

    private void readConsole() {
        try (OutputStream log = Files.newOutputStream(consoleLog(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
             BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(console), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                long now = System.nanoTime();
                log.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                log.flush();
                int at = line.indexOf("COFFER-INIT ");
                if (at >= 0) {
                    String mark = line.substring(at + "COFFER-INIT ".length()).split("[ :]")[0];
                    consoleMarks.putIfAbsent(mark, now);
                    synchronized (consoleSignal) {
                        consoleSignal.notifyAll();
                    }
                }
            }
        } catch (IOException e) {
            // the VM is gone; waiters see consoleClosed
        } finally {
            consoleClosed = true;
            synchronized (consoleSignal) {
                consoleSignal.notifyAll();
            }
        }
    }

    /**
     * Waits for the init's progress line {@code COFFER-INIT <mark>} and returns when it arrived
     * (nanoTime). Fails on "failed", on the VM's end, or after {@code timeout}.
     */
    public long awaitMark(String mark, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (consoleSignal) {
            while (true) {
                Long at = consoleMarks.get(mark);
                if (at != null) return at;
                if (consoleMarks.containsKey("failed")) {
                    throw new IOException("the guest init failed: " + consoleTail() + " (console log " + consoleLog() + ")");
                }
                if (consoleClosed || !watchdog.isAlive()) {
                    throw new IOException("expected the guest to report \"" + mark + "\", found the VM stopped: " + consoleTail());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("expected the guest to report \"" + mark + "\" within " + timeout.toSeconds()
                            + " s, found: " + consoleTail());
                }
                try {
                    consoleSignal.wait(Math.max(1, Math.min(200, left / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the guest", e);
                }
            }
        }
    }

    /**
     * Connects a protocol client to the agent's port. QEMU creates the socket just after the
     * console's, so a missing or refusing socket is retried while QEMU runs, up to {@code timeout}.
     * The agent answers once the guest has booted; see {@link BootTest#awaitAnswer}.
     */
    public AgentClient connectAgent(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return connectRelay(agentSocket());
            } catch (IOException e) {
                if (!watchdog.isAlive()) {
                    throw new IOException("expected QEMU to serve the agent port, found it exited: " + qemuLogTail(), e);
                }
                if (System.nanoTime() > deadline) throw e;
                sleep(10);
            }
        }
    }

    /**
     * A client of the agent behind QEMU's socket for the agent port: the session is opened in
     * band (see {@link dev.coffer.runtime.guest.RelaySession}) on the first call, under its deadline.
     */
    static AgentClient connectRelay(Path socket) throws IOException {
        return AgentClient.connect(socket, dev.coffer.agent.protocol.AgentDeadlines.fromEnvironment(System.getenv()),
                dev.coffer.runtime.guest.RelaySession.hostOpening());
    }

    /** When the mark was seen, or null. */
    public Long markNanos(String mark) {
        return consoleMarks.get(mark);
    }

    /** Waits for QEMU to exit by itself (the guest powered off); false on timeout. */
    public boolean awaitExit(Duration timeout) {
        try {
            return watchdog.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public boolean isRunning() {
        return watchdog.isAlive();
    }

    /** The last lines of the console, for error messages. */
    public String consoleTail() {
        try {
            if (!Files.exists(consoleLog())) return "(no console output)";
            List<String> lines = Files.readAllLines(consoleLog(), StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(console log unreadable: " + e.getMessage() + ")";
        }
    }

    private String qemuLogTail() {
        try {
            Path log = config.runDir().resolve("qemu.log");
            return Files.exists(log) ? Files.readString(log).strip().replace('\n', ' ') : "(no QEMU output)";
        } catch (IOException e) {
            return "(QEMU log unreadable)";
        }
    }

    /** Kills QEMU (if still running) and its watchdog, and removes the sockets and pid file. Idempotent. */
    @Override
    public void close() {
        List<ProcessHandle> tree = new ArrayList<>(watchdog.descendants().toList());
        for (ProcessHandle h : tree) h.destroyForcibly();
        watchdog.destroyForcibly();
        try {
            watchdog.waitFor(10, TimeUnit.SECONDS);
            for (ProcessHandle h : tree) h.onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // a process that will not die within 10 s after SIGKILL is beyond our reach; reported by `coffer ps`
        }
        try {
            if (console != null) console.close();
        } catch (IOException ignored) {
            // already closed by QEMU's exit
        }
        for (String f : List.of("console.sock", "agent.sock", "qemu.pid")) {
            try {
                Files.deleteIfExists(config.runDir().resolve(f));
            } catch (IOException ignored) {
                // best effort: the run directory is removed by its owner
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
