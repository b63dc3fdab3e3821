package dev.coffer.agent.tee;

import dev.coffer.attest.sim.SimulatedSecureProcessor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * The simulated secure processor inside a microVM. A simulation has no hardware to keep the
 * chip's key, so the launch disk carries the chip's files (by name, base64) beside the sealed
 * launch context. They go to one fixed directory under fixed names, and only after the context's
 * seal has been checked against the chip's VCEK certificate in memory: no name or path from the
 * disk is used to decide where anything is written.
 */
public final class SimTeeFiles {
    /** Where a microVM's agent keeps the simulated chip (tmpfs, root only). */
    public static final Path GUEST_DIRECTORY = Path.of("/run/coffer-sim-tee");
    /** Base64 of a chip file: certificates and a key are a few KiB; the bound keeps a hostile disk small. */
    private static final int MAX_FILE_CHARS = 64 * 1024;

    private SimTeeFiles() {}

    /**
     * Checks {@code files} (the launch disk's {@code simTee}: exactly the chip's fixed names) and
     * the sealed {@code contextText} for {@code group}, then writes the chip into {@code directory}
     * (0700, files 0600) and the context to {@code contextFile} (0600). Nothing is written when a
     * check fails.
     *
     * @throws TeeException naming the field and what was wrong
     */
    public static void install(Map<String, String> files, String contextText, String group, Path directory, Path contextFile)
            throws IOException {
        Map<String, byte[]> decoded = decode(files);
        SimLaunchContext.checkSealed(contextText, group, decoded.get(SimulatedSecureProcessor.VCEK_CERTIFICATE_FILE));
        if (Files.isSymbolicLink(directory) || (Files.exists(directory, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(directory))) {
            throw new TeeException("expected " + directory + " to be the simulated chip's directory, found something else"
                    + " (a link or a file); refusing to write the chip there");
        }
        Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        for (Map.Entry<String, byte[]> f : decoded.entrySet()) {
            writeOwnerOnly(directory.resolve(f.getKey()), f.getValue());
        }
        writeOwnerOnly(contextFile, contextText.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The chip's files by their fixed names, decoded; anything missing, extra or not base64 is refused. */
    static Map<String, byte[]> decode(Map<String, String> files) {
        if (files == null || !files.keySet().equals(new java.util.HashSet<>(SimulatedSecureProcessor.FILES))) {
            TreeSet<String> extra = new TreeSet<>(files == null ? java.util.Set.of() : files.keySet());
            SimulatedSecureProcessor.FILES.forEach(extra::remove);
            TreeSet<String> missing = new TreeSet<>(SimulatedSecureProcessor.FILES);
            if (files != null) missing.removeAll(files.keySet());
            throw new TeeException("expected the launch disk's simTee to hold exactly the simulated chip's files "
                    + SimulatedSecureProcessor.FILES + " (names, never paths), found"
                    + (extra.isEmpty() ? "" : " unknown " + quoted(extra)) + (missing.isEmpty() ? "" : " missing " + missing)
                    + "; the guest writes them only to " + GUEST_DIRECTORY);
        }
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String name : SimulatedSecureProcessor.FILES) {
            String value = files.get(name);
            if (value == null || value.length() > MAX_FILE_CHARS) {
                throw new TeeException("expected simTee[\"" + name + "\"] as base64 of at most " + MAX_FILE_CHARS
                        + " characters, found " + (value == null ? "none" : value.length() + " characters"));
            }
            try {
                out.put(name, Base64.getDecoder().decode(value));
            } catch (IllegalArgumentException e) {
                throw new TeeException("expected simTee[\"" + name + "\"] as base64, found other text (" + e.getMessage() + ")");
            }
        }
        return out;
    }

    private static String quoted(TreeSet<String> names) {
        StringBuilder sb = new StringBuilder("[");
        for (String n : names) {
            if (sb.length() > 1) sb.append(", ");
            sb.append('"').append(n.length() > 80 ? n.substring(0, 80) + "..." : n).append('"');
        }
        return sb.append(']').toString();
    }

    /** Replaces {@code file} with {@code bytes}, mode 0600, never following a link planted there. */
    private static void writeOwnerOnly(Path file, byte[] bytes) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
                LinkOption.NOFOLLOW_LINKS)) {
            out.write(bytes);
        }
    }
}
