package dev.coffer.runtime.guest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shared libraries that host binaries need, found with {@code ldd} (the dynamic loader's own
 * resolution, so RPATHs, the loader path and glibc's split libraries are all right). The guest
 * copies them to the same absolute paths, so the binaries run unchanged.
 */
final class SharedLibraries {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    private static final Pattern RESOLVED = Pattern.compile("^\\s*(\\S+)\\s+=>\\s+(/\\S+)\\s+\\(0x[0-9a-f]+\\)\\s*$");
    private static final Pattern DIRECT = Pattern.compile("^\\s*(/\\S+)\\s+\\(0x[0-9a-f]+\\)\\s*$");
    private static final Pattern MISSING = Pattern.compile("^\\s*(\\S+)\\s+=>\\s+not found\\s*$");

    private SharedLibraries() {}

    /**
     * The absolute library paths {@code binaries} load, sorted. Libraries named in
     * {@code providedElsewhere} (e.g. the JRE's own libjvm.so) may be missing.
     */
    static Set<String> of(List<Path> binaries, Set<String> providedElsewhere) throws IOException {
        Set<String> libs = new TreeSet<>();
        for (Path binary : binaries) {
            for (String line : ldd(binary)) {
                Matcher m;
                if ((m = RESOLVED.matcher(line)).matches()) {
                    if (!providedElsewhere.contains(m.group(1))) libs.add(m.group(2));
                } else if ((m = DIRECT.matcher(line)).matches()) {
                    libs.add(m.group(1));
                } else if ((m = MISSING.matcher(line)).matches() && !providedElsewhere.contains(m.group(1))) {
                    throw new GuestBuildException("expected the library " + m.group(1) + " that " + binary
                            + " needs, found it missing on this host; install the Debian package that provides it");
                }
            }
        }
        return libs;
    }

    private static List<String> ldd(Path binary) throws IOException {
        Process p = new ProcessBuilder("ldd", binary.toString()).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new GuestBuildException("ldd " + binary + " did not finish within 30 s; check the binary");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            // static binaries: ldd says so and exits 1; they need nothing
            if (text.contains("not a dynamic executable") || text.contains("statically linked")) return List.of();
            if (p.exitValue() != 0) {
                throw new GuestBuildException("ldd " + binary + " failed (exit " + p.exitValue() + "): " + text.strip());
            }
            return text.lines().toList();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running ldd " + binary, e);
        }
    }

    static boolean isElf(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return false;
        try (var in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7F && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        }
    }
}
