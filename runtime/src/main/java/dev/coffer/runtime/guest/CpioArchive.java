package dev.coffer.runtime.guest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * A deterministic newc ("070701") cpio archive, the format the kernel unpacks as an initramfs.
 *
 * <p>Determinism: entries are written sorted by path (so every parent precedes its children),
 * with mtime 0, uid/gid 0, sequential inode numbers and no device numbers; the output depends on
 * the entries' paths, modes and contents only, never on the build host's clock or file order.
 */
final class CpioArchive {
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    sealed interface Entry permits Directory, FileEntry, Symlink, CharDevice {}

    record Directory(int mode) implements Entry {}

    /** A regular file whose content is read from {@code source} when the archive is written. */
    record FileEntry(Path source, byte[] content, int mode) implements Entry {}

    record Symlink(String target) implements Entry {}

    /** A device node; the kernel needs /dev/console in the initramfs to give init its stdio. */
    record CharDevice(int major, int minor, int mode) implements Entry {}

    private final Map<String, Entry> entries = new TreeMap<>(CpioArchive::compareUtf8);

    /** Adds a file copied from the host (symlinks followed), creating its parent directories. */
    CpioArchive file(String path, Path source, int mode) {
        return put(path, new FileEntry(source, null, mode));
    }

    CpioArchive file(String path, byte[] content, int mode) {
        return put(path, new FileEntry(null, content.clone(), mode));
    }

    CpioArchive symlink(String path, String target) {
        return put(path, new Symlink(target));
    }

    CpioArchive charDevice(String path, int major, int minor, int mode) {
        return put(path, new CharDevice(major, minor, mode));
    }

    CpioArchive directory(String path) {
        String p = normalize(path);
        parents(p);
        entries.putIfAbsent(p, new Directory(0755));
        return this;
    }

    boolean contains(String path) {
        return entries.containsKey(normalize(path));
    }

    int size() {
        return entries.size();
    }

    private CpioArchive put(String path, Entry entry) {
        String p = normalize(path);
        Entry existing = entries.get(p);
        if (existing != null && !sameSource(existing, entry)) {
            throw new IllegalArgumentException("initramfs path /" + p + " was added twice with different contents");
        }
        parents(p);
        entries.put(p, entry);
        return this;
    }

    private static boolean sameSource(Entry a, Entry b) {
        return a instanceof FileEntry fa && b instanceof FileEntry fb && fa.source() != null && fa.source().equals(fb.source())
                || a.equals(b);
    }

    private void parents(String p) {
        for (int i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
            entries.putIfAbsent(p.substring(0, i), new Directory(0755));
        }
    }

    private static String normalize(String path) {
        String p = path;
        while (p.startsWith("/")) p = p.substring(1);
        if (p.isEmpty() || p.endsWith("/") || p.contains("//") || p.equals("..") || p.startsWith("../") || p.contains("/../")) {
            throw new IllegalArgumentException("expected a relative initramfs path without '..' or empty parts, found \"" + path + "\"");
        }
        return p;
    }

    private static int compareUtf8(String a, String b) {
        return java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes the archive, trailer included. */
    void writeTo(OutputStream out) throws IOException {
        long[] offset = {0};
        int ino = 1;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            String name = e.getKey();
            switch (e.getValue()) {
                case Directory d -> offset[0] = header(out, offset[0], ino++, S_IFDIR | d.mode(), 2, 0, 0, name);
                case CharDevice c -> offset[0] = header(out, offset[0], ino++, S_IFCHR | c.mode(), 1, 0,
                        ((long) c.major() << 32) | c.minor(), name);
                case Symlink s -> {
                    byte[] target = s.target().getBytes(StandardCharsets.UTF_8);
                    offset[0] = header(out, offset[0], ino++, S_IFLNK | 0777, 1, target.length, 0, name);
                    offset[0] = data(out, offset[0], target);
                }
                case FileEntry f -> {
                    byte[] content = f.content() != null ? f.content() : Files.readAllBytes(f.source());
                    offset[0] = header(out, offset[0], ino++, S_IFREG | f.mode(), 1, content.length, 0, name);
                    offset[0] = data(out, offset[0], content);
                }
            }
        }
        offset[0] = header(out, offset[0], 0, 0, 1, 0, 0, "TRAILER!!!");
        // pad to 512 bytes like GNU cpio, so concatenated archives stay aligned
        int pad = (int) ((512 - offset[0] % 512) % 512);
        out.write(new byte[pad]);
    }

    /** {@code rdev} packs the device's major number in the high 32 bits, its minor in the low. */
    private static long header(OutputStream out, long offset, int ino, int mode, int nlink, long size, long rdev, String name)
            throws IOException {
        if (size > 0xFFFFFFFFL) throw new IllegalArgumentException("initramfs file /" + name + " is larger than newc's 4 GiB limit");
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110).append("070701");
        for (long field : new long[] {ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev >>> 32, rdev & 0xFFFFFFFFL, nameBytes.length + 1, 0}) {
            h.append(String.format("%08x", field));
        }
        out.write(h.toString().getBytes(StandardCharsets.US_ASCII));
        out.write(nameBytes);
        out.write(0);
        long end = offset + 110 + nameBytes.length + 1;
        return pad4(out, end);
    }

    private static long data(OutputStream out, long offset, byte[] content) throws IOException {
        out.write(content);
        return pad4(out, offset + content.length);
    }

    private static long pad4(OutputStream out, long offset) throws IOException {
        int pad = (int) ((4 - offset % 4) % 4);
        out.write(new byte[pad]);
        return offset + pad;
    }
}
