package dev.coffer.shim.cri;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A containerd of its own (Debian's 1.6 with its CRI plugin) for a demo or a test: its root, state,
 * sockets, config and log under one directory, the runtime handler {@value #RUNTIME_HANDLER}
 * ({@code io.containerd.coffer.v2}) whose shim launcher containerd finds on its PATH (a private bin
 * directory: Coffer's launcher and a class path file), the pause image Coffer built offline as its
 * {@code sandbox_image}, and the shim's settings ({@code COFFER_HOME}, ...) in its environment,
 * which containerd passes to the shims it starts. It never touches the host's containerd: another
 * socket, another root, and the {@code native} snapshotter (no overlay mounts of its own to leak).
 *
 * <p>{@link #start} returns once CRI answers (a bounded wait); {@link #close} stops containerd and
 * removes its directory, after unmounting whatever is still mounted under it.
 */
public final class PrivateContainerd implements AutoCloseable {
    /** The CRI runtime handler (a RuntimeClass's {@code handler}) that runs pods in Coffer sandboxes. */
    public static final String RUNTIME_HANDLER = "coffer";
    /** The pod annotation carrying the pod's policy (base64 Rego), as Kata and AKS pass it; containerd passes it to the shim. */
    public static final String POLICY_ANNOTATION = "io.katacontainers.config.agent.policy";
    /** CRI's containerd namespace: where its pods, containers and images live. */
    public static final String NAMESPACE = "k8s.io";
    static final String SHIM_BINARY = "containerd-shim-coffer-v2";
    static final String CLASSPATH_FILE = "coffer-shim.classpath";
    static final Path CONTAINERD = Path.of("/usr/bin/containerd");
    static final Path CTR = Path.of("/usr/bin/ctr");

    /**
     * What the private containerd is made of.
     *
     * @param dir              its directory (created if missing): root, state, sockets, config, log, bin
     * @param cofferHome       the Coffer home the shims use ({@code COFFER_HOME}): its images and groups
     * @param shimLauncher     Coffer's shim launcher ({@code shim/src/main/sh/containerd-shim-coffer-v2})
     * @param shimClasspath    the class path the shim's JVM runs with
     * @param java             the Java 25 binary the shim runs on
     * @param pauseImage       the pause image's reference, in containerd and in the Coffer home
     * @param cniBin           the CNI plugins' directory, or null for hostNetwork pods only
     * @param cniConf          the CNI network configurations' directory, or null
     * @param shimEnvironment  further settings of the shim (e.g. {@code COFFER_SHIM_LOG_DIR})
     * @param bound            how long containerd may take to answer, and a {@code ctr} command to finish
     */
    public record Options(Path dir, Path cofferHome, Path shimLauncher, String shimClasspath, Path java, String pauseImage,
                          Path cniBin, Path cniConf, Map<String, String> shimEnvironment, Duration bound) {
        public Options {
            Objects.requireNonNull(dir, "dir");
            Objects.requireNonNull(cofferHome, "cofferHome");
            Objects.requireNonNull(shimLauncher, "shimLauncher");
            Objects.requireNonNull(shimClasspath, "shimClasspath");
            Objects.requireNonNull(java, "java");
            Objects.requireNonNull(pauseImage, "pauseImage");
            shimEnvironment = shimEnvironment == null ? Map.of() : Map.copyOf(shimEnvironment);
            bound = bound == null ? Duration.ofSeconds(180) : bound;
        }

        public Options withCni(Path bin, Path conf) {
            return new Options(dir, cofferHome, shimLauncher, shimClasspath, java, pauseImage, bin, conf, shimEnvironment, bound);
        }
    }

    /** A command's exit code and its output (stdout and stderr together). */
    public record CommandResult(int exit, String output) {}

    private final Options options;
    private final CriClient cri;
    private Process containerd;
    private boolean closed;

    private PrivateContainerd(Options options) {
        this.options = options;
        this.cri = new CriClient(socket(), options.bound().toSeconds());
    }

    /**
     * Why containerd cannot run here, or null when it can: its binaries missing (with the package
     * that brings them) or not root (containerd mounts and makes namespaces).
     */
    public static String unavailableReason() {
        if (!Files.isExecutable(CONTAINERD) || !Files.isExecutable(CTR)) {
            return "expected containerd at " + CONTAINERD + " and " + CTR + ", found " + (Files.isExecutable(CONTAINERD) ? CTR : CONTAINERD)
                    + " missing; install Debian's package: apt-get install --no-install-recommends containerd";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "containerd and the process sandbox need root, found user " + System.getProperty("user.name") + "; run as root";
        }
        return null;
    }

    /**
     * Writes the bin directory and config.toml under {@code options.dir()}, starts containerd and
     * waits (bounded) until its CRI answers.
     *
     * @throws IOException naming what failed (containerd's log included when it exited or its CRI is off);
     *                     containerd is stopped again then
     */
    public static PrivateContainerd start(Options options) throws IOException {
        String missing = unavailableReason();
        if (missing != null) throw new IOException(missing);
        if (!Files.isRegularFile(options.shimLauncher())) {
            throw new IOException("expected Coffer's shim launcher at " + options.shimLauncher() + ", found none");
        }
        if (options.shimClasspath().indexOf('\n') >= 0) {
            throw new IOException("expected the shim's class path on one line, found a line break in it");
        }
        Files.createDirectories(options.dir());
        PrivateContainerd c = new PrivateContainerd(options);
        try {
            c.writeBin();
            c.writeConfig();
            c.startProcess();
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public Path dir() {
        return options.dir();
    }

    public Path root() {
        return options.dir().resolve("root");
    }

    public Path state() {
        return options.dir().resolve("state");
    }

    public Path socket() {
        return options.dir().resolve("c.sock");
    }

    public Path log() {
        return options.dir().resolve("containerd.log");
    }

    public Path config() {
        return options.dir().resolve("config.toml");
    }

    public CriClient cri() {
        return cri;
    }

    /** True while the containerd process this started runs. */
    public boolean running() {
        return containerd != null && containerd.isAlive();
    }

    private Path bin() {
        return options.dir().resolve("bin");
    }

    /** The shim launcher and its class path file, in a directory only this containerd has on its PATH. */
    private void writeBin() throws IOException {
        Path bin = Files.createDirectories(bin());
        Path launcher = bin.resolve(SHIM_BINARY);
        Files.copy(options.shimLauncher(), launcher, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(bin.resolve(CLASSPATH_FILE), options.shimClasspath());
    }

    private void writeConfig() throws IOException {
        // without CNI only hostNetwork pods can run: an empty plugin directory says so to CRI
        Path cniBin = options.cniBin() != null ? options.cniBin() : Files.createDirectories(options.dir().resolve("cni-bin"));
        Path cniConf = options.cniConf() != null ? options.cniConf() : Files.createDirectories(options.dir().resolve("cni-conf"));
        Files.writeString(config(), """
                version = 2
                root = "%s"
                state = "%s"
                [grpc]
                  address = "%s"
                [ttrpc]
                  address = "%s"
                [plugins."io.containerd.grpc.v1.cri"]
                  sandbox_image = "%s"
                  stream_server_address = "127.0.0.1"
                  stream_server_port = "0"
                  enable_selinux = false
                  disable_apparmor = true
                  [plugins."io.containerd.grpc.v1.cri".cni]
                    bin_dir = "%s"
                    conf_dir = "%s"
                  [plugins."io.containerd.grpc.v1.cri".containerd]
                    snapshotter = "native"
                    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                      runtime_type = "io.containerd.runc.v2"
                    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]
                      runtime_type = "io.containerd.coffer.v2"
                      pod_annotations = ["%s"]
                """.formatted(root(), state(), socket(), options.dir().resolve("c.sock.ttrpc"), options.pauseImage(),
                cniBin, cniConf, RUNTIME_HANDLER, POLICY_ANNOTATION));
    }

    /**
     * Starts containerd on this config (again, after {@link #terminate}) and waits, bounded, until
     * its CRI answers. containerd runs in a session of its own (setsid), so a Ctrl-C in the
     * terminal reaches only the caller, which then removes its pods before stopping containerd.
     */
    public void startProcess() throws IOException {
        if (running()) throw new IllegalStateException("containerd already runs");
        List<String> argv = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) argv.add("/usr/bin/setsid");
        argv.addAll(List.of(CONTAINERD.toString(), "--config", config().toString()));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        Map<String, String> env = pb.environment();
        env.put("PATH", bin() + ":" + env.getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
        env.put("COFFER_HOME", options.cofferHome().toString());
        env.put("COFFER_SHIM_PAUSE_IMAGE", options.pauseImage());
        env.put("COFFER_JAVA", options.java().toString());
        env.putAll(options.shimEnvironment());
        containerd = pb.start();
        long deadline = System.nanoTime() + options.bound().toNanos();
        while (true) {
            if (!containerd.isAlive()) {
                throw new IOException("containerd exited with code " + containerd.exitValue() + " before its CRI answered: " + tail(log()));
            }
            try {
                cri.version();
                return;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
                    // containerd answers but its CRI plugin did not load (its log says why)
                    throw new IOException("containerd's CRI plugin is off (" + e.getStatus() + "): " + tail(log()));
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("containerd's CRI did not answer on " + socket() + " within " + options.bound().toSeconds()
                            + " s: " + e.getStatus() + "; " + tail(log()));
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for containerd's CRI", ie);
                }
            }
        }
    }

    /**
     * Stops containerd with SIGTERM, as systemd stops it (the shims of running pods live on), and
     * waits for it; SIGKILL after the bound.
     *
     * @return true when it stopped on SIGTERM
     */
    public boolean terminate() {
        if (containerd == null) return true;
        containerd.destroy();
        boolean stopped;
        try {
            stopped = containerd.waitFor(options.bound().toSeconds(), TimeUnit.SECONDS);
            if (!stopped) containerd.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            containerd.destroyForcibly();
            stopped = false;
        }
        return stopped;
    }

    /**
     * Imports an OCI image layout (a directory) into containerd's {@value #NAMESPACE} namespace,
     * unpacked for the native snapshotter, as CRI then finds it.
     */
    public void importLayout(Path layout) throws IOException {
        Path tar = Files.createTempFile(options.dir(), "layout-", ".tar");
        try {
            CommandResult packed = run(List.of("tar", "-C", layout.toString(), "-cf", tar.toString(), "."), options.bound());
            if (packed.exit() != 0) throw new IOException("cannot pack the image layout " + layout + ": " + packed.output().strip());
            CommandResult imported = ctr("images", "import", "--snapshotter", "native", tar.toString());
            if (imported.exit() != 0) {
                throw new IOException("ctr images import of " + layout + " failed (exit " + imported.exit() + "): " + imported.output().strip());
            }
        } finally {
            Files.deleteIfExists(tar);
        }
    }

    /** Runs {@code ctr} against this containerd, in CRI's namespace. */
    public CommandResult ctr(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(CTR.toString(), "-a", socket().toString(), "-n", NAMESPACE));
        cmd.addAll(List.of(args));
        return run(cmd, options.bound());
    }

    /** The pids of the shim daemons this containerd started (their command line names its socket). */
    public List<Long> shimPids() {
        return ProcessHandle.allProcesses().filter(p -> {
            String cmdline = cmdline(p.pid());
            return cmdline.contains("dev.coffer.shim.ShimMain") && cmdline.contains(socket().toString());
        }).map(ProcessHandle::pid).toList();
    }

    /** The mount points under {@code dir}, deepest first (from /proc/self/mountinfo). */
    public static List<Path> mountsUnder(Path dir) throws IOException {
        String prefix = dir.toAbsolutePath().toString();
        List<Path> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length < 5) continue;
            String point = f[4].replace("\\040", " ");
            if (point.equals(prefix) || point.startsWith(prefix + "/")) out.add(Path.of(point));
        }
        out.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        return out;
    }

    /** A process's command line from /proc, arguments separated by spaces; empty once it exited. */
    static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"), StandardCharsets.ISO_8859_1).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    static CommandResult run(List<String> cmd, Duration bound) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(bound.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within " + bound.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        }
        return new CommandResult(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** The last lines of containerd's log, for an error message. */
    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return "containerd's log (" + log + ") ends: " + String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "containerd's log " + log + " cannot be read: " + e.getMessage();
        }
    }

    /**
     * What {@link #close} found it had to clean up beyond stopping containerd: mounts left under
     * its directory (unmounted) and shim processes left running. Empty when containerd and its
     * pods had already gone cleanly.
     */
    public record Leftovers(List<Path> mounts, List<Long> shims) {
        public boolean none() {
            return mounts.isEmpty() && shims.isEmpty();
        }
    }

    private Leftovers leftovers = new Leftovers(List.of(), List.of());

    /** What the last {@link #close} had to clean up (see {@link Leftovers}). */
    public Leftovers leftovers() {
        return leftovers;
    }

    /**
     * Stops containerd (SIGTERM, then SIGKILL after the bound), closes the CRI client, unmounts
     * anything still mounted under its directory and removes the directory. Idempotent. Pods are
     * the caller's to remove first (through CRI), as a kubelet drains a node: shims still running
     * afterwards are reported in {@link #leftovers()}, not killed (their pods' groups would be
     * orphaned), and then the directory is kept.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            cri.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        terminate();
        List<Long> shims = shimPids();
        List<Path> mounts = new ArrayList<>();
        try {
            for (Path m : mountsUnder(options.dir())) {
                mounts.add(m);
                run(List.of("umount", "-l", m.toString()), options.bound());
            }
        } catch (IOException e) {
            // reported by the leftover check of the caller (the mounts are still listed)
        }
        leftovers = new Leftovers(List.copyOf(mounts), shims);
        if (shims.isEmpty()) {
            try {
                deleteTree(options.dir());
            } catch (IOException e) {
                // a file still in use; the caller's check of the directory reports it
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Override
    public String toString() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dir", options.dir());
        m.put("socket", socket());
        m.put("running", running());
        return "PrivateContainerd" + m;
    }
}
