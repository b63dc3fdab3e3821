package dev.coffer.runtime.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Rewrites the signed jars of a directory in place without their signatures, as the agent disk
 * carries them ({@link AgentDisk#stageUnsigned}, the same bytes): the launcher runs it on the
 * CLI's library directory after each build, so the CLI and the process sandbox's agent (which
 * runs on the CLI's class path) load Bouncy Castle without the JVM checking a 10 MB signature at
 * their start. A jar that does not match its signature stops this with an error and is left as it
 * was; a jar already unsigned is not touched.
 *
 * <p>{@code java -cp coffer-runtime.jar dev.coffer.runtime.guest.UnsignedJars DIR}
 */
public final class UnsignedJars {
    private UnsignedJars() {}

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: UnsignedJars DIR (rewrites DIR's signed jars without their signatures)");
            System.exit(2);
        }
        try {
            for (Path jar : stripIn(Path.of(args[0]))) System.out.println("unsigned " + jar.getFileName());
        } catch (IOException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
    }

    /** Strips every signed jar directly in {@code dir}; returns the jars rewritten. */
    public static List<Path> stripIn(Path dir) throws IOException {
        List<Path> jars;
        try (Stream<Path> s = Files.list(dir)) {
            jars = s.filter(p -> p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p)).sorted().toList();
        }
        List<Path> stripped = new ArrayList<>();
        for (Path jar : jars) {
            Path tmp = jar.resolveSibling(jar.getFileName() + ".unsigned.tmp");
            try {
                if (AgentDisk.stageUnsigned(jar, tmp)) {
                    // a JVM that has the jar open keeps reading the old file; a new one sees the whole copy
                    Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    stripped.add(jar);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return stripped;
    }
}
