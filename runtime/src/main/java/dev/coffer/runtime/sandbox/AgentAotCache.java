package dev.coffer.runtime.sandbox;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The process sandbox agent's ahead-of-time cache on disk: the cache file the launcher names in
 * {@value #ENVIRONMENT} ({@code ./coffer} names one per build, see scripts/lib.sh) and, beside
 * it, its seal ({@code CACHE.seal}), written by {@link AgentAotTraining} when the cache was made.
 *
 * <p>Why a seal: the JVM does not notice on its own that a jar changed after its cache was made
 * (it went on running the old classes, measured on JDK 25.0.3), so a cache is used only while
 * everything it was made from is unchanged: the JDK, the agent's JVM options, the exact class path
 * and each of its jars' size, modification time, change time and inode. The seal also carries the
 * cache's SHA-384, which a measured launch names (hashing 30 MB at every launch would cost a third
 * of a second), together with the cache's own size, times and inode, so an edited or replaced cache
 * is not used either. Any mismatch means a normal start, never a failed one.
 */
final class AgentAotCache {
    /** The environment variable naming the cache file the launcher chose for this build. */
    static final String ENVIRONMENT = "COFFER_AGENT_AOT_CACHE";
    static final String FORMAT = "coffer-agent-aot-cache/v1";

    private AgentAotCache() {}

    /** The cache for a launch with {@code classpath}: the one the environment names if its seal holds, else none. */
    static AgentAot forLaunch(String classpath) {
        return forLaunch(System.getenv(), classpath);
    }

    static AgentAot forLaunch(Map<String, String> environment, String classpath) {
        String named = environment.get(ENVIRONMENT);
        if (named == null || named.isBlank()) return new AgentAot.None();
        Path cache = Path.of(named).toAbsolutePath();
        return check(cache, classpath).<AgentAot>map(sha -> new AgentAot.Use(cache, sha)).orElse(new AgentAot.None());
    }

    /** The seal's file for {@code cache}. */
    static Path sealFile(Path cache) {
        return cache.resolveSibling(cache.getFileName() + ".seal");
    }

    /**
     * The cache's SHA-384 if its seal matches the cache and what it was made from, else empty
     * (no cache, no seal, a changed jar or JDK, another class path, an edited cache).
     */
    static Optional<String> check(Path cache, String classpath) {
        try {
            if (!Files.isRegularFile(cache, LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
            Path seal = sealFile(cache);
            if (!Files.isRegularFile(seal, LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
            List<String> lines = Files.readAllLines(seal, StandardCharsets.UTF_8);
            if (lines.size() < 2 || !lines.getFirst().equals(FORMAT) || !lines.get(1).startsWith("sha384 ")) return Optional.empty();
            String sha = lines.get(1).substring("sha384 ".length());
            if (!sha.matches("[0-9a-f]{96}")) return Optional.empty();
            Optional<List<String>> now = madeFrom(cache, classpath);
            return now.isPresent() && now.get().equals(lines.subList(2, lines.size())) ? Optional.of(sha) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // unreadable: a normal start
        }
    }

    /**
     * Moves {@code made} (a fresh cache the training run wrote) to {@code cache} and seals it there
     * (a rename changes the file's change time, so the seal is made after it); a launch in between
     * finds no seal and starts normally.
     *
     * @throws IOException when the class path cannot be sealed (a class directory, a missing entry)
     */
    static void seal(Path made, Path cache, String classpath) throws IOException {
        Path sealTmp = sealFile(made);
        Files.move(made, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        List<String> from = madeFrom(cache, classpath).orElseThrow(() -> new IOException("expected a class path of jar files"
                + " for the agent's start-up cache (a directory's classes are not covered by its seal), found " + classpath));
        List<String> lines = new ArrayList<>();
        lines.add(FORMAT);
        lines.add("sha384 " + sha384(cache));
        lines.addAll(from);
        Files.write(sealTmp, lines, StandardCharsets.UTF_8);
        Files.move(sealTmp, sealFile(cache), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** What a cache was made from, one fact per line; empty when the class path has anything but jar files. */
    private static Optional<List<String>> madeFrom(Path cache, String classpath) throws IOException {
        List<String> lines = new ArrayList<>();
        Path javaHome = Path.of(System.getProperty("java.home"));
        lines.add("java " + Runtime.version() + " " + javaHome);
        lines.add("jdk-image " + stat(javaHome.resolve("lib").resolve("modules")));
        lines.add("jvm-options " + String.join(" ", ProcessSandboxBackend.JVM_OPTIONS));
        lines.add("classpath " + classpath);
        for (String entry : classpath.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (!entry.endsWith(".jar") || !Files.isRegularFile(p)) return Optional.empty();
            lines.add("jar " + stat(p) + " " + entry);
        }
        lines.add("cache " + stat(cache));
        return Optional.of(lines);
    }

    /** A file's identity and version as the file system keeps it: a rewrite changes at least one of these. */
    private static String stat(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:dev,ino,size,lastModifiedTime,ctime");
        return "dev=" + a.get("dev") + " ino=" + a.get("ino") + " size=" + a.get("size") + " mtime=" + a.get("lastModifiedTime")
                + " ctime=" + a.get("ctime");
    }

    static String sha384(Path file) throws IOException {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-384");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-384", e);
        }
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int r; (r = in.read(buf)) > 0; ) d.update(buf, 0, r);
        }
        return HexFormat.of().formatHex(d.digest());
    }
}
