package dev.coffer.cli.k8s;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One change {@code coffer k8s install} or {@code uninstall} makes to a node. A plan is a list of
 * these, computed before anything is written, so {@code --dry-run} prints exactly what a real run
 * does, and a plan that cannot be made (a file the operator wrote in the way) writes nothing.
 */
sealed interface NodeChange {
    Path path();

    /** What the change is and why, one line. */
    String summary();

    /** The file's lines as they change: "-" removed, "+" added, at most a few lines of context. */
    List<String> diff();

    /** Makes the change: a file is replaced by rename, so a reader (containerd) never sees half of it. */
    void apply() throws IOException;

    /** A file written whole (created or replaced). */
    record WriteFile(Path path, String before, String content, Set<PosixFilePermission> mode, String summary) implements NodeChange {
        @Override
        public List<String> diff() {
            return lineDiff(before == null ? "" : before, content);
        }

        @Override
        public void apply() throws IOException {
            writeAtomically(path, content, mode);
        }
    }

    /** A file removed. */
    record DeleteFile(Path path, String before, String summary) implements NodeChange {
        @Override
        public List<String> diff() {
            return lineDiff(before, "");
        }

        @Override
        public void apply() throws IOException {
            Files.deleteIfExists(path);
        }
    }

    Set<PosixFilePermission> EXECUTABLE = PosixFilePermissions.fromString("rwxr-xr-x");
    Set<PosixFilePermission> READABLE = PosixFilePermissions.fromString("rw-r--r--");

    private static void writeAtomically(Path target, String content, Set<PosixFilePermission> mode) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".coffer-tmp");
        try {
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(tmp, mode);
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The lines between the common head and the common tail, with up to two lines of context each
     * side: enough for the edits install and uninstall make (a block added or removed).
     */
    static List<String> lineDiff(String before, String after) {
        List<String> a = before.isEmpty() ? List.of() : List.of(before.split("\r?\n"));
        List<String> b = after.isEmpty() ? List.of() : List.of(after.split("\r?\n"));
        int head = 0;
        while (head < a.size() && head < b.size() && a.get(head).equals(b.get(head))) head++;
        int tail = 0;
        while (tail < a.size() - head && tail < b.size() - head && a.get(a.size() - 1 - tail).equals(b.get(b.size() - 1 - tail))) tail++;
        List<String> out = new ArrayList<>();
        for (int i = Math.max(0, head - 2); i < head; i++) out.add("  " + a.get(i));
        for (int i = head; i < a.size() - tail; i++) out.add("- " + a.get(i));
        for (int i = head; i < b.size() - tail; i++) out.add("+ " + b.get(i));
        for (int i = a.size() - tail; i < Math.min(a.size(), a.size() - tail + 2); i++) out.add("  " + a.get(i));
        return out;
    }
}
