package dev.coffer.runtime.preflight;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Where the checks look: a root directory holding {@code dev}, {@code proc}, {@code sys} and
 * {@code usr/share} ("/" on the host; a prepared tree in tests), and the QEMU binary to ask
 * (run for real: {@code --version} and {@code -object help}).
 *
 * @param root the file system root the host's files are read under
 * @param qemu the QEMU binary: a path, or a name looked up on {@code path}
 * @param path the directories commands are looked up in (the PATH)
 */
public record HostProbe(Path root, String qemu, List<Path> path) {
    public static final String QEMU = "qemu-system-x86_64";
    static final long COMMAND_SECONDS = 20;

    public HostProbe {
        path = List.copyOf(path);
    }

    /** This host: "/", QEMU and commands from the PATH. */
    public static HostProbe host() {
        List<Path> dirs = new ArrayList<>();
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (!d.isEmpty()) dirs.add(Path.of(d));
        }
        return new HostProbe(Path.of("/"), QEMU, dirs);
    }

    /** {@code absolute} ("/dev/sev") under the root. */
    public Path file(String absolute) {
        return root.resolve(absolute.startsWith("/") ? absolute.substring(1) : absolute);
    }

    boolean exists(String absolute) {
        return Files.exists(file(absolute), LinkOption.NOFOLLOW_LINKS) || Files.exists(file(absolute));
    }

    /** The file's text, stripped, or empty when it cannot be read. */
    Optional<String> read(String absolute) {
        try {
            return Optional.of(Files.readString(file(absolute), StandardCharsets.UTF_8).strip());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** A command by name on the path (or the path itself when it has a slash), if executable. */
    public Optional<Path> command(String name) {
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        for (Path dir : path) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** Runs {@code command}; its exit status and output (stdout and stderr together). */
    record Output(int status, String text) {}

    static Output run(List<String> command) throws IOException {
        // output to a file, not a pipe: a command that hangs with its pipe open cannot hold this check past the timeout
        Path out = Files.createTempFile("coffer-probe", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            try {
                if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IOException("expected " + command.getFirst() + " to answer within " + COMMAND_SECONDS + " s, it did not");
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + command.getFirst(), e);
            }
            byte[] text;
            try (java.io.InputStream in = Files.newInputStream(out)) {
                text = in.readNBytes(1 << 20);
            }
            return new Output(p.exitValue(), new String(text, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
