package dev.coffer.layer.ext4;

import dev.coffer.layer.InvalidLayerException;
import dev.coffer.layer.tar.TarEntry;
import dev.coffer.layer.tar.TarFormatException;
import dev.coffer.layer.tar.TarReader;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Converts a layer tar into an ext4 image, entry by entry in tar order, the way Azure's
 * {@code tar2ext4} does with whiteout conversion on: {@code .wh..wh..opq} becomes
 * {@code trusted.overlay.opaque=y} on its directory and {@code .wh.NAME} becomes a 0:0
 * character device NAME (overlayfs' own whiteout form).
 */
public final class TarToExt4 {
    private static final String WHITEOUT_PREFIX = ".wh.";
    private static final String OPAQUE_WHITEOUT = ".wh..wh..opq";
    private static final String XATTR_PREFIX = "SCHILY.xattr.";

    private TarToExt4() {}

    /** Streams the whole tar into the sink and returns the image size in bytes. */
    public static long convert(TarReader tar, ImageSink sink) throws IOException {
        Ext4Writer fs = new Ext4Writer(sink);
        TarEntry e;
        while ((e = tar.next()) != null) {
            try {
                convertEntry(tar, fs, e);
            } catch (TarFormatException ex) {
                throw ex; // already names the entry and the byte offset
            } catch (InvalidLayerException ex) {
                throw new InvalidLayerException("tar entry '" + Ext4Writer.display(e.name()) + "' ending at byte "
                        + tar.offset() + ": " + ex.getMessage(), ex);
            }
        }
        return fs.close();
    }

    private static void convertEntry(TarReader tar, Ext4Writer fs, TarEntry e) throws IOException {
        String name = e.name();
        fs.makeParents(name);

        int slash = name.lastIndexOf('/');
        String dir = name.substring(0, slash + 1);
        String file = name.substring(slash + 1);
        if (file.startsWith(WHITEOUT_PREFIX)) {
            if (file.equals(OPAQUE_WHITEOUT)) {
                Ext4File d = fs.stat(dir);
                Map<String, String> xattrs = new HashMap<>(d.xattrs());
                xattrs.put("trusted.overlay.opaque", "y");
                fs.create(dir, new Ext4File(d.linkname(), d.size(), d.mode(), d.uid(), d.gid(), d.atime(),
                        d.ctime(), d.mtime(), d.crtime(), d.devMajor(), d.devMinor(), xattrs));
            } else {
                fs.create(dir + file.substring(WHITEOUT_PREFIX.length()),
                        new Ext4File("", 0, Ext4Writer.S_IFCHR, 0, 0, 0, 0, 0, 0, 0, 0, Map.of()));
            }
            return;
        }

        if (e.typeflag() == TarEntry.TYPE_LINK) {
            fs.link(e.linkname(), name);
            return;
        }
        Map<String, String> xattrs = new HashMap<>();
        for (Map.Entry<String, String> r : e.pax().entrySet()) {
            if (r.getKey().startsWith(XATTR_PREFIX)) {
                xattrs.put(r.getKey().substring(XATTR_PREFIX.length()), r.getValue());
            }
        }
        int type = switch (e.typeflag()) {
            case TarEntry.TYPE_REG -> Ext4Writer.S_IFREG;
            case TarEntry.TYPE_SYMLINK -> Ext4Writer.S_IFLNK;
            case TarEntry.TYPE_CHAR -> Ext4Writer.S_IFCHR;
            case TarEntry.TYPE_BLOCK -> Ext4Writer.S_IFBLK;
            case TarEntry.TYPE_DIR -> Ext4Writer.S_IFDIR;
            case TarEntry.TYPE_FIFO -> Ext4Writer.S_IFIFO;
            default -> 0; // Azure's converter stores any other type as a regular file
        };
        int mode = ((int) e.mode() & 0xffff & ~Ext4Writer.TYPE_MASK) | type;
        long mtime = Ext4Time.encode(e.mtimeSeconds(), e.mtimeNanos());
        long atime = e.hasAccessTime() ? Ext4Time.encode(e.atimeSeconds(), e.atimeNanos()) : 0;
        long ctime = e.hasChangeTime() ? Ext4Time.encode(e.ctimeSeconds(), e.ctimeNanos()) : 0;
        fs.create(name, new Ext4File(e.linkname(), e.size(), mode, (int) e.uid(), (int) e.gid(),
                atime, ctime, mtime, mtime, (int) e.devMajor(), (int) e.devMinor(), xattrs));
        long data = tar.remaining();
        if (data > 0) fs.writeFrom(tar::read, data);
    }
}
