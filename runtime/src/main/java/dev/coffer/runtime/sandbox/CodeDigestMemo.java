package dev.coffer.runtime.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The SHA-384 of the agent's jars, remembered between launches in one file of the Coffer home
 * ({@code $COFFER_HOME/agent-code-digests}): each {@code --tee sim} launch measures every jar of
 * the agent's class path (36 MB), which took 0.3 to 0.5 s of each {@code coffer run} in a cold JVM.
 *
 * <p>A remembered digest is used only for the very file it was computed from: same path, device,
 * inode, size, modification time and change time. Rewriting a jar, even with its size and
 * modification time kept, changes its change time (which user space cannot set back), and a
 * replaced jar is another inode, so either is hashed again. Whoever can write the memo could make a
 * launch claim other code, but that is the host, which in the process sandbox is the launcher and
 * holds the simulated chip's key anyway: the memo gives it nothing it did not have.
 */
final class CodeDigestMemo {
    static final String FILE = "agent-code-digests";

    private final Path file;
    private final Map<String, String> remembered = new HashMap<>();
    /** What this launch used: all the memo keeps, so entries of jars long rebuilt do not pile up. */
    private final Map<String, String> used = new java.util.LinkedHashMap<>();
    private boolean changed;

    private CodeDigestMemo(Path file) {
        this.file = file;
    }

    /** The memo in {@code home}, empty when it is missing or unreadable. */
    static CodeDigestMemo in(Path home) {
        CodeDigestMemo memo = new CodeDigestMemo(home.resolve(FILE));
        try {
            if (Files.isRegularFile(memo.file, LinkOption.NOFOLLOW_LINKS)) {
                for (String line : Files.readAllLines(memo.file, StandardCharsets.UTF_8)) {
                    int space = line.indexOf(' ');
                    if (space == 96 && line.substring(0, 96).matches("[0-9a-f]{96}")) {
                        memo.remembered.put(line.substring(space + 1), line.substring(0, space));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            memo.remembered.clear(); // hashed again, never guessed
        }
        return memo;
    }

    /** The SHA-384 (hex) of {@code jar}: remembered if the file is the one it was computed from, else computed now. */
    String sha384(Path jar) throws IOException {
        String key = key(jar);
        String known = remembered.get(key);
        if (known != null) {
            used.put(key, known);
            return known;
        }
        String computed = AgentAotCache.sha384(jar);
        // the file may have changed while it was read: remember it only if it is still the same file
        if (key.equals(key(jar))) {
            used.put(key, computed);
            changed = true;
        }
        return computed;
    }

    /** Writes what was learnt (written whole and renamed; a concurrent launch's copy may win, which costs a hash). */
    void save() {
        if (!changed && used.size() == remembered.size()) return;
        try {
            List<String> lines = new ArrayList<>();
            used.forEach((key, sha) -> lines.add(sha + " " + key));
            Path tmp = file.resolveSibling(FILE + "." + ProcessHandle.current().pid() + ".tmp");
            Files.write(tmp, lines, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            // the memo only saves time; the next launch hashes again
        }
    }

    private static String key(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:dev,ino,size,lastModifiedTime,ctime");
        return a.get("dev") + " " + a.get("ino") + " " + a.get("size") + " " + a.get("lastModifiedTime") + " " + a.get("ctime")
                + " " + p.toAbsolutePath();
    }
}
