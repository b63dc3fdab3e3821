package dev.coffer.oci.layout;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * The entries of one image layer, in order, written as a deterministic tar: the same entries
 * always give the same bytes (fixed mtime, numeric owners, no user names), so the same layer
 * always has the same digest.
 */
public final class TarLayer {
    /** One tar entry. Paths are relative, without a leading slash ("usr/bin/app"). */
    public sealed interface Entry permits Dir, File, Symlink, Hardlink, Whiteout, OpaqueWhiteout {
        String path();
    }

    public record Dir(String path, int mode, int uid, int gid) implements Entry {}

    /** A regular file from bytes, or (if {@code content} is null) from {@code source}. */
    public record File(String path, byte[] content, Path source, int mode, int uid, int gid) implements Entry {}

    public record Symlink(String path, String target, int uid, int gid) implements Entry {}

    public record Hardlink(String path, String target) implements Entry {}

    /** Deletes {@code path} of the layers below (an {@code .wh.<name>} entry). */
    public record Whiteout(String path) implements Entry {}

    /** Hides everything the layers below have in directory {@code path} ({@code .wh..wh..opq}). */
    public record OpaqueWhiteout(String path) implements Entry {}

    private final List<Entry> entries = new ArrayList<>();
    private Instant mtime = Instant.EPOCH;
    private int uid;
    private int gid;

    public TarLayer() {
    }

    /** Owner for the entries added after this call. */
    public TarLayer owner(int newUid, int newGid) {
        this.uid = newUid;
        this.gid = newGid;
        return this;
    }

    /** Modification time of every entry (default: the epoch, for reproducible digests). */
    public TarLayer mtime(Instant time) {
        this.mtime = time;
        return this;
    }

    public TarLayer dir(String path) {
        return dir(path, 0755);
    }

    public TarLayer dir(String path, int mode) {
        entries.add(new Dir(clean(path), mode, uid, gid));
        return this;
    }

    public TarLayer file(String path, byte[] content, int mode) {
        entries.add(new File(clean(path), content.clone(), null, mode, uid, gid));
        return this;
    }

    public TarLayer file(String path, String content, int mode) {
        return file(path, content.getBytes(StandardCharsets.UTF_8), mode);
    }

    /** A file whose content is read from {@code source} when the tar is written. */
    public TarLayer file(String path, Path source, int mode) {
        entries.add(new File(clean(path), null, source, mode, uid, gid));
        return this;
    }

    public TarLayer symlink(String path, String target) {
        entries.add(new Symlink(clean(path), target, uid, gid));
        return this;
    }

    public TarLayer hardlink(String path, String target) {
        entries.add(new Hardlink(clean(path), clean(target)));
        return this;
    }

    public TarLayer whiteout(String path) {
        entries.add(new Whiteout(clean(path)));
        return this;
    }

    public TarLayer opaque(String dir) {
        entries.add(new OpaqueWhiteout(clean(dir)));
        return this;
    }

    public List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** The uncompressed tar. */
    public byte[] toTar() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            writeTo(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write layer tar: " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    public void writeTo(OutputStream out) throws IOException {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out, StandardCharsets.UTF_8.name());
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        for (Entry e : entries) {
            TarArchiveEntry t;
            switch (e) {
                case Dir d -> {
                    t = new TarArchiveEntry(d.path() + "/", TarConstants.LF_DIR);
                    t.setMode(0040000 | d.mode());
                    t.setIds(d.uid(), d.gid());
                }
                case File f -> {
                    t = new TarArchiveEntry(f.path(), TarConstants.LF_NORMAL);
                    t.setMode(0100000 | f.mode());
                    t.setIds(f.uid(), f.gid());
                    t.setSize(f.content() != null ? f.content().length : Files.size(f.source()));
                }
                case Symlink s -> {
                    t = new TarArchiveEntry(s.path(), TarConstants.LF_SYMLINK);
                    t.setLinkName(s.target());
                    t.setMode(0120777);
                    t.setIds(s.uid(), s.gid());
                }
                case Hardlink h -> {
                    t = new TarArchiveEntry(h.path(), TarConstants.LF_LINK);
                    t.setLinkName(h.target());
                    t.setMode(0100644);
                }
                case Whiteout w -> {
                    t = new TarArchiveEntry(sibling(w.path(), ".wh." + name(w.path())), TarConstants.LF_NORMAL);
                    t.setMode(0100000);
                }
                case OpaqueWhiteout o -> {
                    t = new TarArchiveEntry(o.path() + "/.wh..wh..opq", TarConstants.LF_NORMAL);
                    t.setMode(0100000);
                }
            }
            t.setModTime(Date.from(mtime));
            t.setUserName("");
            t.setGroupName("");
            tar.putArchiveEntry(t);
            if (e instanceof File f) {
                if (f.content() != null) {
                    tar.write(f.content());
                } else {
                    try (InputStream in = Files.newInputStream(f.source())) {
                        in.transferTo(tar);
                    }
                }
            }
            tar.closeArchiveEntry();
        }
        tar.finish();
        tar.flush();
    }

    private static String sibling(String path, String newName) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? newName : path.substring(0, slash + 1) + newName;
    }

    private static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    private static String clean(String path) {
        String p = path;
        while (p.startsWith("/")) p = p.substring(1);
        while (p.endsWith("/")) p = p.substring(0, p.length() - 1);
        if (p.isEmpty()) {
            throw new IllegalArgumentException("expected a path inside the layer, found '" + path + "'");
        }
        return p;
    }
}
