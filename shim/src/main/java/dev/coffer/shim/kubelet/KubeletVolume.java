package dev.coffer.shim.kubelet;

import dev.coffer.agent.protocol.Request;
import dev.coffer.policy.enforce.ContentVolumeKind;
import dev.coffer.policy.enforce.FileDigest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A volume the kubelet wrote for a pod ({@code /var/lib/kubelet/pods/UID/volumes/kubernetes.io~configmap/NAME},
 * {@code ~secret}, {@code ~projected}, {@code ~downward-api}), read as its atomic writer lays it out:
 *
 * <pre>
 * NAME/..2026_12_08_01_02_03.123456789/KEY     the files, regular files and directories only
 * NAME/..data -> ..2026_12_08_01_02_03.123456789
 * NAME/KEY -> ..data/KEY                        one symlink per top-level entry
 * </pre>
 *
 * No other symlink is followed, every user-visible entry must be such a symlink to the entry of
 * the same name, FIFOs, devices and sockets are refused, and the volume is bounded
 * ({@link ContentVolumeKind#MAX_FILES} files, {@link ContentVolumeKind#MAX_VOLUME_BYTES} bytes).
 * Entries starting with ".." other than {@code ..data} and its directory (an older timestamped
 * directory, {@code ..data_tmp} while the kubelet updates) are not the volume's and are skipped.
 *
 * @param files the files by path inside the volume, sorted by path
 */
public record KubeletVolume(ContentVolumeKind kind, String name, List<Request.MountFile> files) {
    /** The atomic writer's link to the current timestamped directory. */
    static final String DATA_LINK = "..data";
    /** The kubelet's directory of a pod's volumes of one kind: {@code .../volumes/kubernetes.io~KIND/NAME}. */
    public static final String PLUGIN_PREFIX = "/volumes/kubernetes.io~";

    public KubeletVolume {
        files = List.copyOf(files);
    }

    /** Why a kubelet volume cannot be used: what was expected, what was found. */
    public static final class LayoutException extends Exception {
        LayoutException(String message) {
            super(message);
        }
    }

    /**
     * The kind and name of a kubelet volume directory {@code source} (a mount source in the OCI
     * spec), or null when it is not one of {@link ContentVolumeKind}'s.
     */
    public static KubeletVolume.Ref refOf(String source) {
        int at = source.indexOf(PLUGIN_PREFIX);
        if (at < 0) return null;
        String rest = source.substring(at + PLUGIN_PREFIX.length());
        int slash = rest.indexOf('/');
        if (slash < 0) return null;
        ContentVolumeKind kind = ContentVolumeKind.ofDirectory(rest.substring(0, slash));
        return kind == null ? null : new Ref(kind, rest.substring(slash + 1), Path.of(source));
    }

    /** A kubelet volume directory: its kind, its name (not yet checked) and where it is. */
    public record Ref(ContentVolumeKind kind, String name, Path dir) {}

    /** Reads the volume at {@code ref.dir()}. */
    public static KubeletVolume read(Ref ref) throws LayoutException {
        String what = ref.kind().podSpecField() + " volume " + ref.name() + " at " + ref.dir();
        if (!ContentVolumeKind.VOLUME_NAME.matcher(ref.name()).matches()) {
            throw new LayoutException("expected the " + ref.kind().podSpecField() + " volume at " + ref.dir()
                    + " to be named by a DNS label (as Kubernetes names volumes), found \"" + ref.name() + "\"");
        }
        try {
            if (!Files.isDirectory(ref.dir(), LinkOption.NOFOLLOW_LINKS)) {
                throw new LayoutException("expected the " + what + " to be a directory the kubelet wrote, found "
                        + (Files.exists(ref.dir(), LinkOption.NOFOLLOW_LINKS) ? "something else" : "nothing"));
            }
            Path data = ref.dir().resolve(DATA_LINK);
            if (!Files.isSymbolicLink(data)) {
                throw new LayoutException("expected " + DATA_LINK + " in the " + what + " to be the kubelet's symlink to its"
                        + " timestamped directory, found " + (Files.exists(data, LinkOption.NOFOLLOW_LINKS) ? "another file" : "none"));
            }
            String current = Files.readSymbolicLink(data).toString();
            if (!current.startsWith("..") || current.contains("/") || current.equals(DATA_LINK) || current.equals("..")
                    || !Files.isDirectory(ref.dir().resolve(current), LinkOption.NOFOLLOW_LINKS)) {
                throw new LayoutException("expected " + DATA_LINK + " in the " + what + " to point to a timestamped directory"
                        + " beside it (..2026_12_08_01_02_03.123456789), found it pointing to \"" + current + "\"");
            }
            Path timestamped = ref.dir().resolve(current);
            // every visible entry is KEY -> ..data/KEY, and every top-level entry of the data has one
            Set<String> visible = new TreeSet<>();
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(ref.dir())) {
                for (Path e : entries) {
                    String n = e.getFileName().toString();
                    if (n.startsWith("..")) continue;
                    String target = Files.isSymbolicLink(e) ? Files.readSymbolicLink(e).toString() : null;
                    if (!(DATA_LINK + "/" + n).equals(target)) {
                        throw new LayoutException("expected " + n + " in the " + what + " to be the kubelet's symlink " + n + " -> "
                                + DATA_LINK + "/" + n + ", found " + (target == null ? "a file that is not a symlink" : "a symlink to \""
                                + target + "\"") + "; the volume is not the kubelet's");
                    }
                    visible.add(n);
                }
            }
            TreeMap<String, byte[]> files = new TreeMap<>();
            long[] total = {0};
            Set<String> topLevel = new TreeSet<>();
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(timestamped)) {
                for (Path e : entries) topLevel.add(e.getFileName().toString());
            }
            if (!topLevel.equals(visible)) {
                throw new LayoutException("expected the entries of " + current + " in the " + what + " to be exactly those with a"
                        + " symlink beside " + DATA_LINK + " " + visible + ", found " + topLevel);
            }
            walk(timestamped, "", files, total, what);
            List<Request.MountFile> out = new ArrayList<>();
            files.forEach((p, bytes) -> out.add(new Request.MountFile(p, bytes)));
            return new KubeletVolume(ref.kind(), ref.name(), out);
        } catch (IOException e) {
            throw new LayoutException("expected the " + what + " to be readable, found " + e.getClass().getSimpleName() + ": "
                    + e.getMessage());
        }
    }

    private static void walk(Path dir, String prefix, TreeMap<String, byte[]> files, long[] total, String what)
            throws IOException, LayoutException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path e : s) {
                entries.add(e);
                if (files.size() + entries.size() > ContentVolumeKind.MAX_FILES) {
                    throw new LayoutException("expected at most " + ContentVolumeKind.MAX_FILES + " files in the " + what
                            + ", found more");
                }
            }
        }
        for (Path e : entries) {
            String path = prefix + e.getFileName();
            String problem = FileDigest.pathProblem(path);
            if (problem != null) throw new LayoutException("the " + what + ": " + problem);
            BasicFileAttributes a = Files.readAttributes(e, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isDirectory()) {
                walk(e, path + "/", files, total, what);
            } else if (a.isRegularFile()) {
                total[0] += a.size();
                if (total[0] > ContentVolumeKind.MAX_VOLUME_BYTES) {
                    throw new LayoutException("expected at most " + ContentVolumeKind.MAX_VOLUME_BYTES + " bytes in the " + what
                            + " (the size Kubernetes allows a ConfigMap or Secret), found more at " + path);
                }
                files.put(path, readBounded(e, a.size(), path, what));
                if (files.size() > ContentVolumeKind.MAX_FILES) {
                    throw new LayoutException("expected at most " + ContentVolumeKind.MAX_FILES + " files in the " + what + ", found more");
                }
            } else {
                throw new LayoutException("expected only regular files and directories in the " + what + ", found "
                        + (a.isSymbolicLink() ? "a symlink" : "a FIFO, socket or device") + " at " + path);
            }
        }
    }

    /** The file's bytes, opened without following a symlink, refusing a file that grew past its size. */
    private static byte[] readBounded(Path file, long size, String path, String what) throws IOException, LayoutException {
        try (InputStream in = Channels.newInputStream(Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            byte[] bytes = in.readNBytes((int) size + 1);
            if (bytes.length != size) {
                throw new LayoutException("expected file " + path + " of the " + what + " to hold " + size + " bytes, found "
                        + bytes.length + " as it was read; it changed while the shim read it");
            }
            return bytes;
        }
    }
}
