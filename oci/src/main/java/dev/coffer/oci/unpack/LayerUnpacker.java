package dev.coffer.oci.unpack;

import dev.coffer.oci.OciException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Unpacks ONE uncompressed layer tar into a directory that overlayfs can use as a lower layer:
 * {@code .wh.NAME} whiteouts become 0:0 character devices named NAME, {@code .wh..wh..opq}
 * makes its directory opaque ({@code trusted.overlay.opaque=y}). Modes (with setuid/setgid/
 * sticky), owners, symbolic and hard links are kept.
 *
 * <p>The tar is hostile until proven otherwise: absolute names, {@code ..}, and entries whose
 * path or hard-link target goes through a symbolic link are refused, and nothing is ever
 * written by following a link, so no entry can reach outside the directory.
 */
public final class LayerUnpacker {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";
    private static final String XATTR_PAX = "SCHILY.xattr.";
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private record DirMeta(Path path, int mode, long uid, long gid, FileTime mtime) {}

    private LayerUnpacker() {}

    /**
     * Unpacks {@code tar} into {@code dir} (created if missing), then reads {@code tar} to its end
     * so that a verifying stream gets to check its digest before this method returns.
     */
    public static void unpack(InputStream tar, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path root = dir.toRealPath();
        List<DirMeta> dirs = new ArrayList<>();
        TarArchiveInputStream tin = new TarArchiveInputStream(tar, StandardCharsets.UTF_8.name());
        TarArchiveEntry e;
        while ((e = tin.getNextEntry()) != null) {
            List<String> parts = components(e.getName(), "entry");
            if (parts.isEmpty()) {
                continue; // "./": the root itself keeps the mode the caller gave it
            }
            Path parent = parentDir(root, parts, e.getName());
            String base = parts.getLast();
            Path target = parent.resolve(base);
            if (base.equals(OPAQUE)) {
                setOpaque(parent);
            } else if (base.startsWith(WHITEOUT)) {
                String hidden = base.substring(WHITEOUT.length());
                if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
                    throw new UnsafeLayerException("layer entry '" + e.getName() + "' is a whiteout of '" + hidden
                            + "'; expected .wh.<name> naming one file: the layer is malformed");
                }
                Path victim = parent.resolve(hidden);
                removeExisting(victim);
                mknod(victim, "c", 0, 0, 0);
            } else if (e.isDirectory()) {
                if (Files.isDirectory(target, NOFOLLOW)) {
                    // an earlier entry made it (or it came implicitly): only metadata changes
                } else {
                    removeExisting(target);
                    Files.createDirectory(target);
                }
                dirs.add(new DirMeta(target, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
                        FileTime.fromMillis(e.getModTime().getTime())));
                applyXattrs(target, e);
            } else if (e.isSymbolicLink()) {
                removeExisting(target);
                Files.createSymbolicLink(target, Path.of(e.getLinkName()));
                chown(target, e.getLongUserId(), e.getLongGroupId());
            } else if (e.isLink()) {
                List<String> linkParts = components(e.getLinkName(), "hard link target of '" + e.getName() + "'");
                if (linkParts.isEmpty()) {
                    throw new UnsafeLayerException("layer entry '" + e.getName() + "' is a hard link to the layer root;"
                            + " expected a link to a file: the layer is malformed");
                }
                Path linked = parentDir(root, linkParts, e.getLinkName()).resolve(linkParts.getLast());
                if (!Files.exists(linked, NOFOLLOW) || Files.isDirectory(linked, NOFOLLOW)) {
                    throw new UnsafeLayerException("layer entry '" + e.getName() + "' is a hard link to '"
                            + e.getLinkName() + "', which is not an earlier file of this layer; the layer is malformed");
                }
                removeExisting(target);
                Files.createLink(target, linked);
            } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
                removeExisting(target);
                // The mode goes in with mknod: setting it later would open the node, and opening a
                // fifo blocks (a device open can even act on hardware).
                mknod(target, e.isFIFO() ? "p" : e.isCharacterDevice() ? "c" : "b", e.getDevMajor(), e.getDevMinor(),
                        e.getMode() & 0777);
                chown(target, e.getLongUserId(), e.getLongGroupId());
            } else if (e.isFile()) { // checked last: commons-compress calls anything not a directory a file
                removeExisting(target);
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE)) {
                    tin.transferTo(out);
                }
                finish(target, e);
                applyXattrs(target, e);
            } else {
                throw new UnsafeLayerException("layer entry '" + e.getName() + "' has tar type '" + (char) typeOf(e)
                        + "', which a container layer cannot hold; expected files, directories, links or devices");
            }
        }
        // Directory metadata last, deepest first: a read-only directory must still receive its entries.
        dirs.sort(Comparator.comparingInt((DirMeta d) -> d.path().getNameCount()).reversed());
        for (DirMeta d : dirs) {
            chown(d.path(), d.uid(), d.gid());
            Files.setAttribute(d.path(), "unix:mode", d.mode(), NOFOLLOW);
            Files.getFileAttributeView(d.path(), BasicFileAttributeView.class, NOFOLLOW)
                    .setTimes(d.mtime(), null, null);
        }
        tar.transferTo(OutputStream.nullOutputStream());
    }

    /**
     * Extended attributes from PAX {@code SCHILY.xattr.*} records. Only {@code user.*} and
     * {@code security.capability} (file capabilities, e.g. of ping) are applied: {@code trusted.*}
     * would let an image forge overlayfs metadata (redirects, opaque markers) and
     * {@code security.selinux} labels belong to the host's policy.
     */
    private static void applyXattrs(Path target, TarArchiveEntry e) throws IOException {
        for (var h : e.getExtraPaxHeaders().entrySet()) {
            if (!h.getKey().startsWith(XATTR_PAX)) continue;
            String name = h.getKey().substring(XATTR_PAX.length());
            if (name.startsWith("trusted.")) {
                throw new UnsafeLayerException("layer entry '" + e.getName() + "' sets the extended attribute " + name
                        + "; refusing the layer: trusted.* attributes could forge overlayfs metadata");
            }
            if (!name.startsWith("user.") && !name.equals("security.capability")) {
                continue;
            }
            String value = h.getValue();
            if (value.indexOf('\uFFFD') >= 0) {
                throw new OciException("layer entry '" + e.getName() + "' has a binary " + name + " value that the tar"
                        + " reader could not decode; expected a UTF-8-safe value: rebuild the image without it");
            }
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            run(List.of("setfattr", "-h", "-n", name, "-v", "0x" + java.util.HexFormat.of().formatHex(bytes),
                    target.toString()), "set " + name + " on " + target, "attr");
        }
    }

    private static byte typeOf(TarArchiveEntry e) {
        return e.isGlobalPaxHeader() ? (byte) 'g' : e.isPaxHeader() ? (byte) 'x' : e.isSparse() ? (byte) 'S' : (byte) '?';
    }

    private static void finish(Path target, TarArchiveEntry e) throws IOException {
        // Owner before mode: chown clears setuid/setgid bits.
        chown(target, e.getLongUserId(), e.getLongGroupId());
        Files.setAttribute(target, "unix:mode", e.getMode() & 07777, NOFOLLOW);
        Files.getFileAttributeView(target, BasicFileAttributeView.class, NOFOLLOW)
                .setTimes(FileTime.fromMillis(e.getModTime().getTime()), null, null);
    }

    private static void chown(Path p, long uid, long gid) throws IOException {
        if (uid > Integer.MAX_VALUE || gid > Integer.MAX_VALUE || uid < 0 || gid < 0) {
            throw new UnsafeLayerException("layer entry " + p.getFileName() + " has owner " + uid + ":" + gid
                    + "; expected ids between 0 and " + Integer.MAX_VALUE);
        }
        try {
            Files.setAttribute(p, "unix:uid", (int) uid, NOFOLLOW);
            Files.setAttribute(p, "unix:gid", (int) gid, NOFOLLOW);
        } catch (FileSystemException denied) {
            // Only root can give files away; an unprivileged unpack keeps the caller as owner.
            if (ROOT) throw denied;
        }
    }

    /** Splits a tar name into clean components, refusing absolute names and "..". */
    static List<String> components(String name, String what) throws UnsafeLayerException {
        if (name.startsWith("/")) {
            throw new UnsafeLayerException("layer " + what + " '" + name + "' is an absolute path; refusing the layer:"
                    + " entries must be relative to the root");
        }
        List<String> out = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.isEmpty() || c.equals(".")) continue;
            if (c.equals("..")) {
                throw new UnsafeLayerException("layer " + what + " '" + name + "' contains '..'; refusing the layer:"
                        + " an entry must not reach outside the root");
            }
            if (c.indexOf('\0') >= 0) {
                throw new UnsafeLayerException("layer " + what + " has a NUL byte in its name; refusing the layer");
            }
            out.add(c);
        }
        return out;
    }

    /**
     * The directory that holds the last component, creating missing directories. Refuses to
     * pass through a symbolic link: following one is how a layer reaches outside.
     */
    private static Path parentDir(Path root, List<String> parts, String name) throws IOException {
        Path cur = root;
        for (int i = 0; i < parts.size() - 1; i++) {
            Path next = cur.resolve(parts.get(i));
            if (Files.isSymbolicLink(next)) {
                throw new UnsafeLayerException("layer entry '" + name + "' goes through the symbolic link '"
                        + root.relativize(next) + "' -> '" + Files.readSymbolicLink(next)
                        + "'; refusing the layer: entries must not be written through links");
            }
            if (!Files.exists(next, NOFOLLOW)) {
                Files.createDirectory(next);
            } else if (!Files.isDirectory(next, NOFOLLOW)) {
                throw new UnsafeLayerException("layer entry '" + name + "' needs '" + root.relativize(next)
                        + "' to be a directory, but the layer made it a file; the layer is malformed");
            }
            cur = next;
        }
        return cur;
    }

    private static void removeExisting(Path p) throws IOException {
        if (!Files.exists(p, NOFOLLOW)) return;
        if (Files.isDirectory(p, NOFOLLOW)) {
            try (Stream<Path> walk = Files.walk(p)) {
                for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(q);
                }
            } catch (DirectoryNotEmptyException e) {
                throw new IOException("cannot replace directory " + p + ": " + e.getMessage(), e);
            }
        } else {
            Files.delete(p);
        }
    }

    private static void setOpaque(Path dir) throws IOException {
        run(List.of("setfattr", "-n", "trusted.overlay.opaque", "-v", "y", dir.toString()),
                "mark " + dir + " opaque", "attr");
    }

    private static void mknod(Path p, String type, int major, int minor, int mode) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("mknod", "-m", Integer.toOctalString(mode), p.toString(), type));
        if (!type.equals("p")) {
            cmd.add(Integer.toString(major));
            cmd.add(Integer.toString(minor));
        }
        run(cmd, "create " + (type.equals("p") ? "fifo " : "device node ") + p, "coreutils");
    }

    /** Java has no mknod or trusted.* xattrs; the coreutils/attr binaries do it. */
    private static void run(List<String> cmd, String what, String debianPackage) throws IOException {
        Process proc;
        try {
            proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new OciException("cannot " + what + ": '" + cmd.getFirst() + "' is not installed; install it with"
                    + " 'apt-get install --no-install-recommends " + debianPackage + "'", e);
        }
        try {
            if (!proc.waitFor(30, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                throw new OciException("cannot " + what + ": '" + cmd.getFirst() + "' did not finish in 30 s");
            }
        } catch (InterruptedException e) {
            proc.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while trying to " + what);
        }
        String output = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (proc.exitValue() != 0) {
            throw new OciException("cannot " + what + ": " + String.join(" ", cmd.subList(0, 1)) + " failed ("
                    + output + "); unpacking a layer with whiteouts needs root (CAP_MKNOD, CAP_SYS_ADMIN)");
        }
    }
}
