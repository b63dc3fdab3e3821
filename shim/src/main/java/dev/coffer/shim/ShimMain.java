package dev.coffer.shim;

import dev.coffer.shim.proto.Shim;
import dev.coffer.shim.task.EventPublisher;
import dev.coffer.shim.task.ShimConfig;
import dev.coffer.shim.task.ContainerdImageDigests;
import dev.coffer.shim.task.TaskService;
import dev.coffer.shim.ttrpc.TtrpcServer;

import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * containerd-shim-coffer-v2: the commands containerd runs (runtime v2's binary protocol).
 * <ul>
 *   <li>{@code start}: starts the shim daemon for a task (detached, in its own session), waits
 *       until its ttrpc socket answers, writes the address to the bundle's {@code address} file
 *       and prints it ({@code unix://...}) on stdout, as containerd reads it;</li>
 *   <li>{@code delete}: cleanup after a shim died: removes the task's group, ends the daemon if it
 *       is still there, prints a DeleteResponse protobuf on stdout;</li>
 *   <li>{@code serve}: the daemon itself (what {@code start} runs).</li>
 * </ul>
 */
public final class ShimMain {
    /** Where sockets, pid files and logs of running shims live (short: a unix socket path has 107 bytes). */
    static final Path STATE_ROOT = Path.of("/run/coffer-shim");
    private static final long START_TIMEOUT_MS = 60_000;

    private ShimMain() {}

    /** containerd's flags, spelled as Go's flag package accepts them ({@code -name value} or {@code -name=value}). */
    record Flags(String namespace, String address, String publishBinary, String id, String bundle, String command) {
        static Flags parse(String[] argv) {
            String namespace = "", address = "", publish = "", id = "", bundle = "", command = null;
            for (int i = 0; i < argv.length; i++) {
                String a = argv[i];
                if (!a.startsWith("-")) {
                    if (command != null) throw new IllegalArgumentException("expected one command, found " + command + " and " + a);
                    command = a;
                    continue;
                }
                String name = a.replaceFirst("^--?", "");
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (name.equals("debug") || name.equals("v")) continue;
                if (value == null) {
                    if (i + 1 >= argv.length) throw new IllegalArgumentException("expected a value after -" + name + ", found none");
                    value = argv[++i];
                }
                switch (name) {
                    case "namespace" -> namespace = value;
                    case "address" -> address = value;
                    case "publish-binary" -> publish = value;
                    case "id" -> id = value;
                    case "bundle" -> bundle = value;
                    default -> { } // flags of newer containerd versions this shim does not use
                }
            }
            if (command == null) throw new IllegalArgumentException("expected a command (start, delete), found none");
            if (id.isEmpty()) throw new IllegalArgumentException("expected -id TASK-ID, found none");
            if (namespace.isEmpty()) throw new IllegalArgumentException("expected -namespace NAME, found none");
            return new Flags(namespace, address, publish, id, bundle, command);
        }

        /** Per task: containerd names a shim's socket after namespace and id in the same way. */
        String key() {
            try {
                byte[] d = MessageDigest.getInstance("SHA-256").digest((address + "|" + namespace + "|" + id).getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(d, 0, 16);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        Path socket() {
            return STATE_ROOT.resolve(key() + ".sock");
        }

        Path pidFile() {
            return STATE_ROOT.resolve(key() + ".pid");
        }

        Path logFile() {
            String dir = System.getenv("COFFER_SHIM_LOG_DIR");
            return (dir == null ? STATE_ROOT : Path.of(dir)).resolve(key() + ".log");
        }
    }

    public static void main(String[] argv) {
        Flags flags;
        try {
            flags = Flags.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("containerd-shim-coffer-v2: " + e.getMessage()
                    + "\nusage: containerd-shim-coffer-v2 -namespace NS -address SOCK -publish-binary BIN -id ID [-bundle DIR] start|delete");
            System.exit(2);
            return;
        }
        try {
            switch (flags.command()) {
                case "start" -> start(flags);
                case "delete" -> delete(flags);
                case "serve" -> serve(flags);
                case "cleanup" -> cleanup(flags);
                default -> {
                    System.err.println("containerd-shim-coffer-v2: expected the command start or delete, found " + flags.command());
                    System.exit(2);
                }
            }
        } catch (Exception e) {
            System.err.println("containerd-shim-coffer-v2 " + flags.command() + ": " + e.getMessage());
            System.exit(1);
        }
    }

    private static void start(Flags flags) throws IOException, InterruptedException {
        Files.createDirectories(STATE_ROOT);
        // one shim per pod: a pod's container is served by the shim its sandbox task started
        String pod = TaskService.podToJoin(Path.of("").toAbsolutePath());
        if (pod != null) {
            Flags sandbox = new Flags(flags.namespace(), flags.address(), flags.publishBinary(), pod, flags.bundle(), flags.command());
            if (!answers(sandbox.socket())) {
                throw new IOException("expected the shim of pod sandbox " + pod + " at " + sandbox.socket() + ", found none"
                        + " answering; a pod's containers join its running sandbox (RunPodSandbox first)");
            }
            String address = "unix://" + sandbox.socket();
            Files.writeString(Path.of("address"), address, StandardCharsets.UTF_8);
            System.out.print(address);
            System.out.flush();
            return;
        }
        Path socket = flags.socket();
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of("setsid", java, "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                ShimMain.class.getName(), "-namespace", flags.namespace(), "-address", flags.address(),
                "-publish-binary", flags.publishBinary(), "-id", flags.id(), "serve"));
        Path log = flags.logFile();
        Files.createDirectories(log.getParent());
        Process daemon = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).redirectErrorStream(true).start();
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (!answers(socket)) {
            if (!daemon.isAlive()) {
                throw new IOException("the shim daemon exited " + daemon.exitValue() + " before serving " + socket + "; see " + log);
            }
            if (System.currentTimeMillis() > deadline) {
                daemon.destroyForcibly();
                throw new IOException("the shim daemon did not serve " + socket + " within " + START_TIMEOUT_MS / 1000 + " s; see " + log);
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        String address = "unix://" + socket;
        // containerd reads this file when it reconnects to running shims after a restart
        Files.writeString(Path.of("address"), address, StandardCharsets.UTF_8);
        System.out.print(address);
        System.out.flush();
    }

    private static boolean answers(Path socket) {
        if (!Files.exists(socket)) return false;
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void serve(Flags flags) throws Exception {
        Consumer<String> log = line -> {
            System.out.println(Instant.now() + " " + flags.id() + ": " + line);
            System.out.flush();
        };
        Files.writeString(flags.pidFile(), Long.toString(ProcessHandle.current().pid()));
        ShimConfig config = ShimConfig.fromEnvironment(System.getenv());
        EventPublisher events = new EventPublisher(flags.publishBinary().isEmpty() ? null : Path.of(flags.publishBinary()),
                flags.address(), flags.namespace(), log);
        Object done = new Object();
        boolean[] finished = {false};
        TaskService tasks = new TaskService(config, flags.namespace(), events, log, () -> {
            synchronized (done) {
                finished[0] = true;
                done.notifyAll();
            }
        }, new ContainerdImageDigests(flags.address(), flags.namespace()));
        TtrpcServer server = new TtrpcServer(flags.socket(), List.of(tasks.service()), log);
        server.start();
        log.accept("serving " + flags.socket() + " (Coffer home " + config.cofferHome() + ", policy " + config.policy()
                + ", tee " + config.tee() + ")");
        synchronized (done) {
            while (!finished[0]) done.wait();
        }
        // Shutdown's response is written by the server before the connection closes; give it the moment to go out
        TimeUnit.MILLISECONDS.sleep(100);
        tasks.removeAll();
        events.close();
        server.close();
        Files.deleteIfExists(flags.pidFile());
        if (System.getenv("COFFER_SHIM_LOG_DIR") == null) Files.deleteIfExists(flags.logFile());
        log.accept("shut down");
        System.exit(0);
    }

    /** Stops and removes the group of a task whose shim is gone (what delete starts). */
    private static void cleanup(Flags flags) throws IOException {
        ShimConfig config = ShimConfig.fromEnvironment(System.getenv());
        String group = dev.coffer.shim.task.TaskService.groupOf(flags.namespace(), flags.id());
        var groups = new dev.coffer.runtime.group.GroupManager(config.cofferHome());
        // containerd runs delete after every shim exit, also after a clean Delete removed the group
        if (Files.exists(groups.groupDir(group).resolve("state.json"))) {
            groups.rm(group, true);
            System.out.println(Instant.now() + " " + flags.id() + ": removed group " + group + " of a shim that died");
        }
        Files.deleteIfExists(config.cofferHome().resolve("shim-policies").resolve(group + ".rego"));
        if (System.getenv("COFFER_SHIM_LOG_DIR") == null) Files.deleteIfExists(flags.logFile());
    }

    private static void delete(Flags flags) throws IOException {
        Path pidFile = flags.pidFile();
        if (Files.exists(pidFile)) {
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            ProcessHandle.of(pid).ifPresent(p -> {
                if (p.info().command().orElse("").contains("java")) {
                    p.destroyForcibly();
                    p.onExit().join();
                }
            });
            Files.deleteIfExists(pidFile);
        }
        Files.deleteIfExists(flags.socket());
        // containerd gives delete 5 s (its cleanupTimeout) and kills it after; stopping a group can take
        // longer, so the group's removal runs detached and delete answers at once
        String java = ProcessHandle.current().info().command().orElse("java");
        Path log = flags.logFile();
        Files.createDirectories(log.getParent());
        new ProcessBuilder("setsid", java, "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"), ShimMain.class.getName(),
                "-namespace", flags.namespace(), "-address", flags.address(), "-id", flags.id(), "cleanup")
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).redirectErrorStream(true).start();
        PrintStream out = System.out;
        out.write(Shim.DeleteResponse.newBuilder().setExitStatus(128 + 9)
                .setExitedAt(com.google.protobuf.Timestamp.newBuilder().setSeconds(Instant.now().getEpochSecond())).build().toByteArray());
        out.flush();
    }
}
