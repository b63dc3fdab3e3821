package dev.coffer.agent.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Mounting and unmounting through the util-linux binaries, and reading the mount table. */
public final class Mounts {
    private Mounts() {}

    /** Mount points at or below {@code dir} in this process's mount namespace, deepest first. */
    public static List<Path> mountedUnder(Path dir) {
        List<Path> found = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length < 5) continue;
                Path mountPoint = Path.of(unescape(f[4]));
                if (mountPoint.startsWith(dir)) found.add(mountPoint);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read /proc/self/mountinfo", e);
        }
        found.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        return found;
    }

    public static boolean isMountPoint(Path path) {
        return mountedUnder(path).contains(path);
    }

    static void overlay(List<Path> lowerTopFirst, Path upper, Path work, Path target) {
        StringBuilder lower = new StringBuilder();
        for (Path p : lowerTopFirst) {
            if (!lower.isEmpty()) lower.append(':');
            lower.append(p);
        }
        String options = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
        // The kernel takes mount options in one page; longer lists fail with a vague EINVAL.
        if (options.length() > 4000) {
            throw AgentException.invalid("expected overlay options within one 4 KiB page, found " + options.length()
                    + " bytes for " + lowerTopFirst.size() + " layers; use shorter layer paths");
        }
        HostCommand.check(List.of("mount", "-t", "overlay", "overlay", "-o", options, target.toString()), 30_000);
    }

    /** Unmounts, retrying while busy; a lazy unmount is the last resort so nothing stays visible. */
    public static void unmount(Path target) {
        HostCommand.Outcome last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            last = HostCommand.run(List.of("umount", target.toString()), 30_000);
            if (last.exitCode() == 0 || !isMountPoint(target)) return;
            try {
                Thread.sleep(200L * (attempt + 1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        HostCommand.Outcome lazy = HostCommand.run(List.of("umount", "-l", target.toString()), 30_000);
        if (lazy.exitCode() != 0 && isMountPoint(target)) {
            throw AgentException.failed("expected to unmount " + target + ", umount failed: " + last.output()
                    + "; find the process using it with `fuser -m " + target + "`");
        }
    }

    /** Deletes a directory tree, refusing if anything is still mounted inside it. */
    public static void deleteTree(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        List<Path> mounted = mountedUnder(dir);
        if (!mounted.isEmpty()) {
            throw AgentException.failed("expected nothing mounted under " + dir + " before deleting it, found "
                    + mounted + "; unmount them first");
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw AgentException.failed("cannot delete " + dir + ": " + e.getMessage());
        }
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
