package dev.coffer.agent.container;

import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.enforce.ContentVolumeKind;
import dev.coffer.policy.enforce.FileDigest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * A mount of a volume whose files the host supplies ({@code sandbox:///files/KIND/NAME}, see
 * {@link ContentVolumeKind}): the checks on what the host sent, the digests the policy sees, and
 * the copy the container gets. Everything is checked before anything is written, and the copy is
 * made only after the policy allowed exactly these bytes.
 */
final class ContentMount {
    /** The volume a source names. */
    record Source(ContentVolumeKind kind, String name) {
        /** The container's copy: {@code CONTAINER_DIR/files/KIND/NAME}. */
        Path in(Path containerDir) {
            return containerDir.resolve("files").resolve(kind.directory()).resolve(name);
        }
    }

    private ContentMount() {}

    static boolean isContent(Request.Mount m) {
        return m.source() != null && m.source().startsWith(ContentVolumeKind.REQUEST_PREFIX);
    }

    /** The volume {@code m} names, refusing a kind or name that is not one. */
    static Source source(Request.Mount m) {
        String rest = m.source().substring(ContentVolumeKind.REQUEST_PREFIX.length());
        int slash = rest.indexOf('/');
        ContentVolumeKind kind = slash < 0 ? null : ContentVolumeKind.ofDirectory(rest.substring(0, slash));
        String name = slash < 0 ? "" : rest.substring(slash + 1);
        if (kind == null || !ContentVolumeKind.VOLUME_NAME.matcher(name).matches()) {
            throw AgentException.invalid("expected a mount source " + ContentVolumeKind.REQUEST_PREFIX + "KIND/NAME with KIND one of "
                    + kinds() + " and NAME a DNS label, found \"" + m.source() + "\"");
        }
        return new Source(kind, name);
    }

    /**
     * The digests of {@code m}'s files, sorted by path, after checking what the host sent: the
     * mount read-only, at most {@link ContentVolumeKind#MAX_FILES} files of at most
     * {@link ContentVolumeKind#MAX_VOLUME_BYTES}
     * together, each path relative without '.' or '..' segments, each once, no file where
     * another needs a directory.
     */
    static List<FileDigest> digests(Request.Mount m) {
        Source s = source(m);
        String what = s.kind().podSpecField() + " volume " + s.name() + " at " + m.destination();
        List<String> options = m.options() == null ? List.of() : m.options();
        if (!options.contains("ro") || options.contains("rw")) {
            throw AgentException.invalid("expected the " + what + " mounted read-only (option ro), found options " + options
                    + "; its files come from the host");
        }
        List<Request.MountFile> files = m.files();
        if (files == null) {
            throw AgentException.invalid("expected the files of the " + what + ", found none (an empty volume is an empty list)");
        }
        if (files.size() > ContentVolumeKind.MAX_FILES) {
            throw AgentException.invalid("expected at most " + ContentVolumeKind.MAX_FILES + " files in the " + what + ", found "
                    + files.size());
        }
        long total = 0;
        Set<String> paths = new HashSet<>();
        List<FileDigest> out = new ArrayList<>();
        for (Request.MountFile f : files) {
            if (f == null || f.path() == null || f.content() == null) {
                throw AgentException.invalid("expected each file of the " + what + " with a path and content, found " + f);
            }
            String problem = FileDigest.pathProblem(f.path());
            if (problem != null) throw AgentException.invalid("the " + what + ": " + problem);
            total += f.content().length;
            if (total > ContentVolumeKind.MAX_VOLUME_BYTES) {
                throw AgentException.invalid("expected at most " + ContentVolumeKind.MAX_VOLUME_BYTES + " bytes in the " + what
                        + " (the size Kubernetes"
                        + " allows a ConfigMap or Secret), found more at file " + f.path());
            }
            if (!paths.add(f.path())) throw AgentException.invalid("expected each file of the " + what + " once, found " + f.path() + " twice");
            out.add(new FileDigest(f.path(), sha256(f.content())));
        }
        for (String p : paths) {
            for (int at = p.indexOf('/'); at > 0; at = p.indexOf('/', at + 1)) {
                if (paths.contains(p.substring(0, at))) {
                    throw AgentException.invalid("expected " + p.substring(0, at) + " in the " + what + " to be a directory (it holds "
                            + p + "), found it a file as well");
                }
            }
        }
        return FileDigest.sorted(out);
    }

    /**
     * The checks over all of a container's content mounts: at most {@link ContentVolumeKind#MAX_CONTAINER_BYTES}
     * together, and a volume mounted at several destinations the same files at each (it is copied
     * once; the host read it twice and it changed in between otherwise).
     */
    static void checkAll(List<Request.Mount> mounts) {
        long total = 0;
        java.util.Map<String, List<FileDigest>> seen = new java.util.HashMap<>();
        for (Request.Mount m : mounts) {
            if (!isContent(m) || m.files() == null) continue;
            for (Request.MountFile f : m.files()) total += f == null || f.content() == null ? 0 : f.content().length;
            if (total > ContentVolumeKind.MAX_CONTAINER_BYTES) break;
            List<FileDigest> digests = digests(m);
            List<FileDigest> earlier = seen.putIfAbsent(m.source(), digests);
            if (earlier != null && !earlier.equals(digests)) {
                throw AgentException.invalid("expected the same files each time volume " + m.source() + " is mounted, found other"
                        + " files at " + m.destination() + "; the volume changed while the host read it");
            }
        }
        if (total > ContentVolumeKind.MAX_CONTAINER_BYTES) {
            throw AgentException.invalid("expected at most " + ContentVolumeKind.MAX_CONTAINER_BYTES + " bytes of ConfigMap, Secret,"
                    + " projected and"
                    + " downwardAPI files per container, found " + total);
        }
    }

    /** The kubelet's name for a timestamped data directory: {@code ..2026_12_08_01_02_03.123456789}. */
    private static final java.time.format.DateTimeFormatter STAMP = java.time.format.DateTimeFormatter
            .ofPattern("'..'yyyy_MM_dd_HH_mm_ss.nnnnnnnnn").withZone(java.time.ZoneOffset.UTC);

    /**
     * Writes {@code m}'s files (checked by {@link #digests}) as a new directory {@code target}, in
     * the kubelet's atomic-writer layout, so the container sees what it would see on any node: the
     * files in a timestamped directory, {@code ..data} pointing to it and one {@code KEY -> ..data/KEY}
     * symlink per top-level entry (what watchers of {@code ..data} expect, and what a later update
     * would swap). Files 0444, directories 0755, owned by the agent; nothing existing is overwritten.
     */
    static void write(Request.Mount m, Path target) throws IOException {
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(target + " exists already");
        }
        String stamp = STAMP.format(java.time.Instant.now());
        Path data = target.resolve(stamp);
        Files.createDirectories(data);
        java.util.Set<String> topLevel = new java.util.TreeSet<>();
        for (Request.MountFile f : m.files()) {
            Path file = data.resolve(f.path());
            Files.createDirectories(file.getParent());
            Files.write(file, f.content(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
            topLevel.add(f.path().split("/", 2)[0]);
        }
        Files.createSymbolicLink(target.resolve("..data"), Path.of(stamp));
        for (String name : topLevel) Files.createSymbolicLink(target.resolve(name), Path.of("..data", name));
    }

    private static List<String> kinds() {
        List<String> out = new ArrayList<>();
        for (ContentVolumeKind k : ContentVolumeKind.values()) out.add(k.directory());
        return out;
    }

    private static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always present", e);
        }
    }
}
