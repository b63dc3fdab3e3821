package dev.coffer.layer.ext4;

import java.util.Map;

/**
 * A file to add to the image. Times are already in ext4's on-disk encoding (see {@link Ext4Time});
 * names, link targets and xattr values are raw bytes held one char per byte (ISO-8859-1).
 */
public record Ext4File(
        String linkname,
        long size,
        int mode,
        int uid,
        int gid,
        long atime,
        long ctime,
        long mtime,
        long crtime,
        int devMajor,
        int devMinor,
        Map<String, String> xattrs) {
}
