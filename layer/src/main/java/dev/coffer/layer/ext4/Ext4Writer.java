package dev.coffer.layer.ext4;

import dev.coffer.layer.InvalidLayerException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a compact, read-only ext4 image in one forward pass, laid out exactly like Azure's
 * {@code compactext4} writer so that the dm-verity root hash of the image matches the hashes in
 * Azure confidential-container policies.
 *
 * <p>Layout: block 0 superblock, blocks 1..8 group descriptors (reserved for a 128 GiB disk),
 * then file data in the order files are created, then directories (pre-order, children sorted by
 * inode number), then the inode table, then one block bitmap and one inode bitmap per group.
 * File data goes straight to the {@link ImageSink}; only metadata (inodes, directory entries)
 * stays in memory.
 *
 * <p>Names are raw bytes held one char per byte (ISO-8859-1), so comparisons here are Go's
 * bytewise string comparisons.
 */
public final class Ext4Writer {
    public static final int BLOCK_SIZE = 4096;
    /** Azure's converter reserves metadata for this disk size (dmverity.RecommendedVHDSizeGB). */
    public static final long MAX_DISK_SIZE = 128L << 30;

    static final int S_IFIFO = 0x1000;
    static final int S_IFCHR = 0x2000;
    static final int S_IFDIR = 0x4000;
    static final int S_IFBLK = 0x6000;
    static final int S_IFREG = 0x8000;
    static final int S_IFLNK = 0xA000;
    static final int S_IFSOCK = 0xC000;
    static final int TYPE_MASK = 0xF000;

    private static final int INODE_FIRST = 11;
    private static final int INODE_ROOT = 2;
    private static final int BLOCKS_PER_GROUP = BLOCK_SIZE * 8;
    private static final int INODE_SIZE = 256;
    private static final int MAX_INODES_PER_GROUP = BLOCK_SIZE * 8;
    private static final int INODES_PER_GROUP_INCREMENT = BLOCK_SIZE / INODE_SIZE;
    private static final int GROUP_DESCRIPTOR_SIZE = 32;
    private static final int GROUPS_PER_DESCRIPTOR_BLOCK = BLOCK_SIZE / GROUP_DESCRIPTOR_SIZE;
    private static final long MAX_FILE_SIZE = 128L << 30;
    private static final int SMALL_SYMLINK_SIZE = 59;
    private static final int MAX_BLOCKS_PER_EXTENT = 0x8000;
    private static final int INODE_USED_SIZE = 152;
    private static final int INODE_EXTRA_SIZE = INODE_SIZE - INODE_USED_SIZE;
    private static final int XATTR_INODE_OVERHEAD = 4 + 4;
    private static final int XATTR_BLOCK_OVERHEAD = 32 + 4;
    private static final int MAX_LINKS = 65000;
    private static final int DIRENT_SIZE = 8;

    private static final int FLAG_HUGE_FILE = 0x40000;
    private static final int FLAG_EXTENTS = 0x80000;
    private static final int XATTR_MAGIC = 0xea020000;
    private static final int EXTENT_MAGIC = 0xf30a;

    private final ImageSink sink;
    private final List<Inode> inodes = new ArrayList<>();
    private final int gdBlocks;
    private Inode curInode;
    private String curName = "";
    private long pos;
    private long dataWritten;
    private long dataMax;
    private boolean closed;

    public Ext4Writer(ImageSink sink) throws IOException {
        this.sink = sink;
        inodes.add(null); // inode 1: bad blocks
        Inode root = makeInode(new Ext4File("", 0, S_IFDIR | 0755, 0, 0, 0, 0, 0, 0, 0, 0, Map.of()), null);
        root.linkCount++; // the root's ".." is itself
        while (inodes.size() < INODE_FIRST - 1) inodes.add(null);
        long maxBlocks = (MAX_DISK_SIZE - 1) / BLOCK_SIZE + 1;
        long maxGroups = (maxBlocks - 1) / BLOCKS_PER_GROUP + 1;
        gdBlocks = (int) ((maxGroups - 1) / GROUPS_PER_DESCRIPTOR_BLOCK + 1);
        pos = (long) (1 + gdBlocks) * BLOCK_SIZE;
        sink.skipTo(pos);
        // e2fsck insists on lost+found.
        create("lost+found", new Ext4File("", 0, S_IFDIR | 0700, 0, 0, 0, 0, 0, 0, 0, 0, Map.of()));
    }

    // ---------------------------------------------------------------- inodes

    static final class Inode {
        final int number;
        long size;
        long atime;
        long ctime;
        long mtime;
        long crtime;
        int mode;
        int uid;
        int gid;
        int linkCount;
        int xattrBlock;
        int blockCount;
        int devMajor;
        int devMinor;
        int flags;
        byte[] data;
        byte[] xattrInline;
        List<Xattr> inlineXattrs = List.of();
        List<Xattr> blockXattrs = List.of();
        Map<String, Inode> children;

        Inode(int number) {
            this.number = number;
        }

        int type() {
            return mode & TYPE_MASK;
        }

        boolean isDir() {
            return type() == S_IFDIR;
        }
    }

    /** An extended attribute with its name already split into prefix index and suffix. */
    record Xattr(String fullName, int index, String name, byte[] value) {
        int entryLen() {
            return ((name.length() + 3) & ~3) + 16;
        }

        int valueLen() {
            return (value.length + 3) & ~3;
        }
    }

    private static final String[][] XATTR_PREFIXES = {
            {"2", "system.posix_acl_access"},
            {"3", "system.posix_acl_default"},
            {"8", "system.richacl"},
            {"7", "system."},
            {"1", "user."},
            {"4", "trusted."},
            {"6", "security."},
    };

    static Xattr xattr(String fullName, byte[] value) {
        for (String[] p : XATTR_PREFIXES) {
            if (fullName.startsWith(p[1])) {
                return new Xattr(fullName, Integer.parseInt(p[0]), fullName.substring(p[1].length()), value);
            }
        }
        return new Xattr(fullName, 0, fullName, value);
    }

    static int xattrHash(String name, byte[] value) {
        int hash = 0;
        for (int i = 0; i < name.length(); i++) {
            hash = (hash << 5) ^ (hash >>> 27) ^ (name.charAt(i) & 0xff);
        }
        int i = 0;
        for (; i + 3 < value.length; i += 4) {
            hash = (hash << 16) ^ (hash >>> 16) ^ le32(value, i);
        }
        if (value.length % 4 != 0) {
            byte[] last = new byte[4];
            System.arraycopy(value, value.length & ~3, last, 0, value.length % 4);
            hash = (hash << 16) ^ (hash >>> 16) ^ le32(last, 0);
        }
        return hash;
    }

    private static int le32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    /** Entries grow from the front of b, values from the back; offsets are relative to b's start plus delta. */
    private static void putXattrs(List<Xattr> xattrs, byte[] b, int start, int len, int offsetDelta) {
        int offset = len + offsetDelta;
        int e = start;
        int d = start + len;
        for (Xattr x : xattrs) {
            int vl = x.valueLen();
            offset -= vl;
            b[e] = (byte) x.name().length();
            b[e + 1] = (byte) x.index();
            putLe16(b, e + 2, offset);
            putLe32(b, e + 8, x.value().length);
            putLe32(b, e + 12, xattrHash(x.name(), x.value()));
            for (int i = 0; i < x.name().length(); i++) b[e + 16 + i] = (byte) x.name().charAt(i);
            e += x.entryLen();
            System.arraycopy(x.value(), 0, b, d - vl, x.value().length);
            d -= vl;
        }
    }

    /**
     * Go's sort.Slice with Azure's (not strictly ordered) comparator: for up to 12 elements that
     * is a plain insertion sort, which we reproduce step for step so the block layout matches.
     */
    private static void sortBlockXattrs(List<Xattr> xs) {
        for (int i = 1; i < xs.size(); i++) {
            for (int j = i; j > 0 && blockLess(xs.get(j), xs.get(j - 1)); j--) {
                Collections.swap(xs, j, j - 1);
            }
        }
    }

    private static boolean blockLess(Xattr a, Xattr b) {
        return a.index() < b.index() || a.name().length() < b.name().length() || a.name().compareTo(b.name()) < 0;
    }

    private void writeXattrs(Inode node, List<Xattr> inline, List<Xattr> block) throws IOException {
        if (!inline.isEmpty()) {
            node.xattrInline = new byte[INODE_EXTRA_SIZE];
            putLe32(node.xattrInline, 0, XATTR_MAGIC);
            putXattrs(inline, node.xattrInline, 4, INODE_EXTRA_SIZE - 4, 0);
        }
        node.inlineXattrs = List.copyOf(inline);
        node.blockXattrs = List.copyOf(block);
        if (!block.isEmpty() || node.xattrBlock != 0) {
            List<Xattr> sorted = new ArrayList<>(block);
            sortBlockXattrs(sorted);
            byte[] b = new byte[BLOCK_SIZE];
            putLe32(b, 0, XATTR_MAGIC);
            putLe32(b, 4, 1); // reference count
            putLe32(b, 8, 1); // blocks
            putXattrs(sorted, b, 32, BLOCK_SIZE - 32, 32);
            if (node.xattrBlock == 0) {
                node.xattrBlock = block();
                node.blockCount++;
                rawWrite(b, 0, b.length);
            } else {
                // Reuse the block written earlier: blocks are never freed in this layout.
                sink.writeBlock(Integer.toUnsignedLong(node.xattrBlock), b);
            }
        }
    }

    private Inode makeInode(Ext4File f, Inode node) throws IOException {
        int mode = f.mode() & 0xffff;
        if ((mode & TYPE_MASK) == 0) mode |= S_IFREG;
        int type = mode & TYPE_MASK;
        if (node == null) {
            node = new Inode(inodes.size() + 1);
            if (type == S_IFDIR) {
                node.children = new HashMap<>();
                node.linkCount = 1;
            }
        } else if ((node.flags & FLAG_EXTENTS) != 0) {
            throw new InvalidLayerException("cannot overwrite a file that already has data written");
        }
        node.mode = mode;
        node.uid = f.uid();
        node.gid = f.gid();
        node.flags = FLAG_HUGE_FILE;
        node.atime = f.atime();
        node.ctime = f.ctime();
        node.mtime = f.mtime();
        node.crtime = f.crtime();
        node.devMajor = f.devMajor();
        node.devMinor = f.devMinor();
        node.data = null;
        Map<String, String> xattrs = new HashMap<>(f.xattrs());
        for (Xattr x : node.inlineXattrs) {
            xattrs.putIfAbsent(x.fullName(), new String(x.value(), StandardCharsets.ISO_8859_1));
        }
        node.xattrInline = null;

        long size = 0;
        switch (type) {
            case S_IFREG -> {
                size = f.size();
                if (size > MAX_FILE_SIZE) {
                    throw new InvalidLayerException("file is " + size + " bytes, more than the "
                            + MAX_FILE_SIZE + "-byte maximum of a layer disk");
                }
            }
            case S_IFLNK -> {
                node.mode |= 0777;
                byte[] target = f.linkname().getBytes(StandardCharsets.ISO_8859_1);
                size = target.length;
                if (size <= SMALL_SYMLINK_SIZE) node.data = target;
            }
            case S_IFDIR, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK -> { }
            default -> throw new InvalidLayerException("invalid file mode " + Integer.toOctalString(mode));
        }

        List<Xattr> inline = new ArrayList<>();
        List<Xattr> block = new ArrayList<>();
        int inlineLeft = INODE_EXTRA_SIZE - XATTR_INODE_OVERHEAD;
        int blockLeft = BLOCK_SIZE - XATTR_BLOCK_OVERHEAD;
        List<String> names = new ArrayList<>(xattrs.keySet());
        Collections.sort(names);
        for (String name : names) {
            Xattr x = xattr(name, xattrs.get(name).getBytes(StandardCharsets.ISO_8859_1));
            int length = x.entryLen() + x.valueLen();
            if (inlineLeft >= length) {
                inline.add(x);
                inlineLeft -= length;
            } else if (blockLeft >= length) {
                block.add(x);
                blockLeft -= length;
            } else {
                throw new InvalidLayerException("extended attribute " + name + " does not fit in the inode or "
                        + "its xattr block (" + x.value().length + "-byte value)");
            }
        }
        writeXattrs(node, inline, block);

        node.size = size;
        if (type == S_IFLNK && size > SMALL_SYMLINK_SIZE) {
            byte[] target = f.linkname().getBytes(StandardCharsets.ISO_8859_1);
            startInode("", node, size);
            write(target, 0, target.length);
            finishInode();
        }
        if (node.number - 1 >= inodes.size()) inodes.add(node);
        return node;
    }

    private Inode getInode(int number) {
        if (number == 0 || number > inodes.size()) return null;
        return inodes.get(number - 1);
    }

    private Inode root() {
        return getInode(INODE_ROOT);
    }

    // ---------------------------------------------------------------- paths

    /** Go's path.Clean("/" + p)[1:]. */
    static String clean(String p) {
        Deque<String> parts = new ArrayDeque<>();
        for (String part : p.split("/", -1)) {
            if (part.isEmpty() || part.equals(".")) continue;
            if (part.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(part);
            }
        }
        return String.join("/", parts);
    }

    private Inode findPath(Inode root, String dirname) {
        Inode node = root;
        int i = 0;
        while (node != null && i < dirname.length()) {
            int slash = dirname.indexOf('/', i);
            String name = slash < 0 ? dirname.substring(i) : dirname.substring(i, slash);
            i = slash < 0 ? dirname.length() : slash + 1;
            node = node.children == null ? null : node.children.get(name);
        }
        return node;
    }

    private record Lookup(Inode dir, Inode child, String childName) {}

    private Lookup lookup(String name, boolean mustExist) throws InvalidLayerException {
        Inode root = root();
        String clean = clean(name);
        if (clean.isEmpty()) return new Lookup(root, root, "");
        int slash = clean.lastIndexOf('/');
        String dirname = clean.substring(0, slash + 1);
        String child = clean.substring(slash + 1);
        if (child.length() > 255) {
            throw new InvalidLayerException("'" + display(name) + "': name is " + child.length()
                    + " bytes, ext4 allows at most 255");
        }
        Inode dir = findPath(root, dirname);
        if (dir == null || !dir.isDir()) {
            throw new InvalidLayerException("'" + display(name) + "': parent directory not found");
        }
        Inode existing = dir.children.get(child);
        if (existing == null && mustExist) {
            throw new InvalidLayerException("'" + display(name) + "': file not found");
        }
        return new Lookup(dir, existing, child);
    }

    static String display(String raw) {
        return new String(raw.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /**
     * Creates missing parent directories (like mkdir -p). Each inherits the mode, owner and times
     * of the directory it is created in, as Azure's writer does.
     */
    public void makeParents(String name) throws IOException {
        finishInode();
        String clean = clean(name);
        int slash = clean.lastIndexOf('/');
        if (slash < 0) return;
        Inode dir = root();
        StringBuilder current = new StringBuilder();
        for (String part : clean.substring(0, slash).split("/")) {
            current.append('/').append(part);
            Inode existing = dir.children == null ? null : dir.children.get(part);
            if (existing == null) {
                create(current.toString(), new Ext4File("", 0, dir.mode, dir.uid, dir.gid,
                        Ext4Time.roundTrip(dir.atime), Ext4Time.roundTrip(dir.ctime),
                        Ext4Time.roundTrip(dir.mtime), Ext4Time.roundTrip(dir.crtime),
                        dir.devMajor, dir.devMinor, Map.of()));
                existing = dir.children.get(part);
            }
            dir = existing;
        }
    }

    /** Adds (or, like Azure's writer, updates in place) a file, directory, link or device. */
    public void create(String name, Ext4File f) throws IOException {
        finishInode();
        Lookup l = lookup(name, false);
        Inode existing = l.child();
        Inode reuse = null;
        int newType = f.mode() & TYPE_MASK;
        if (existing != null) {
            if (existing.isDir()) {
                if (newType != S_IFDIR) {
                    throw new InvalidLayerException("'" + display(name) + "': cannot replace a directory with a file");
                }
                reuse = existing;
            } else if (newType == S_IFDIR) {
                throw new InvalidLayerException("'" + display(name) + "': cannot replace a file with a directory");
            } else if (existing.linkCount < 2) {
                reuse = existing;
            }
        } else if (newType == S_IFDIR && l.dir().linkCount >= MAX_LINKS) {
            throw new InvalidLayerException("'" + display(name) + "': parent directory has reached the "
                    + MAX_LINKS + "-link maximum");
        }
        Inode child;
        try {
            child = makeInode(f, reuse);
        } catch (InvalidLayerException e) {
            throw new InvalidLayerException("'" + display(name) + "': " + e.getMessage());
        }
        if (existing != child) {
            if (existing != null) existing.linkCount--;
            l.dir().children.put(l.childName(), child);
            child.linkCount++;
            if (child.isDir()) l.dir().linkCount++;
        }
        if (child.type() == S_IFREG) startInode(name, child, f.size());
    }

    /** Adds a hard link; links to symlinks are allowed, links to directories are not. */
    public void link(String oldName, String newName) throws IOException {
        finishInode();
        Lookup n = lookup(newName, false);
        Inode existing = n.child();
        if (existing != null && (existing.isDir() || existing.linkCount < 2)) {
            throw new InvalidLayerException("hard link '" + display(newName) + "' would replace an existing "
                    + (existing.isDir() ? "directory" : "file"));
        }
        Inode old = lookup(oldName, true).child();
        if (old.isDir()) {
            throw new InvalidLayerException("hard link '" + display(newName) + "' points to directory '"
                    + display(oldName) + "'; hard links to directories are not allowed");
        }
        if (existing != old && old.linkCount >= MAX_LINKS) {
            throw new InvalidLayerException("hard link '" + display(newName) + "' would give '" + display(oldName)
                    + "' more than " + MAX_LINKS + " links");
        }
        if (existing != null) existing.linkCount--;
        old.linkCount++;
        n.dir().children.put(n.childName(), old);
    }

    /** What Create would need to reproduce the file as written (used to add an xattr to a directory). */
    public Ext4File stat(String name) throws IOException {
        finishInode();
        Inode node = lookup(name, true).child();
        Map<String, String> xattrs = new LinkedHashMap<>();
        for (Xattr x : node.blockXattrs) xattrs.put(x.fullName(), new String(x.value(), StandardCharsets.ISO_8859_1));
        for (Xattr x : node.inlineXattrs) xattrs.put(x.fullName(), new String(x.value(), StandardCharsets.ISO_8859_1));
        String linkname = "";
        if (node.type() == S_IFLNK) {
            if (node.size > SMALL_SYMLINK_SIZE) {
                throw new InvalidLayerException("'" + display(name) + "': cannot read back a long symlink");
            }
            linkname = new String(node.data, StandardCharsets.ISO_8859_1);
        }
        return new Ext4File(linkname, node.size, node.mode, node.uid, node.gid,
                Ext4Time.roundTrip(node.atime), Ext4Time.roundTrip(node.ctime),
                Ext4Time.roundTrip(node.mtime), Ext4Time.roundTrip(node.crtime),
                node.devMajor, node.devMinor, xattrs);
    }

    // ---------------------------------------------------------------- data

    /** File data for the regular file created last. */
    public void write(byte[] b, int off, int len) throws IOException {
        if (len == 0) return;
        if (curInode == null || dataWritten + len > dataMax) {
            throw new InvalidLayerException("'" + display(curName) + "': more data than its declared size " + dataMax);
        }
        rawWrite(b, off, len);
        dataWritten += len;
    }

    /** File data for the regular file created last, read straight from src: n bytes. */
    public void writeFrom(ImageSink.Source src, long n) throws IOException {
        if (n == 0) return;
        if (curInode == null || dataWritten + n > dataMax) {
            throw new InvalidLayerException("'" + display(curName) + "': more data than its declared size " + dataMax);
        }
        if (pos + n > MAX_DISK_SIZE) throw tooBig();
        sink.writeFrom(src, n);
        pos += n;
        dataWritten += n;
    }

    private void rawWrite(byte[] b, int off, int len) throws IOException {
        if (pos + len > MAX_DISK_SIZE) throw tooBig();
        sink.write(b, off, len);
        pos += len;
    }

    private void zero(long n) throws IOException {
        if (n == 0) return;
        if (pos + n > MAX_DISK_SIZE) throw tooBig();
        sink.writeZeros(n);
        pos += n;
    }

    private static InvalidLayerException tooBig() {
        return new InvalidLayerException("the layer does not fit in a " + (MAX_DISK_SIZE >> 30)
                + " GiB disk, the maximum Azure's layer format reserves metadata for");
    }

    private void startInode(String name, Inode inode, long size) {
        if (curInode != null) throw new IllegalStateException("inode already in progress");
        curName = name;
        curInode = inode;
        dataWritten = 0;
        dataMax = size;
    }

    private int block() {
        return (int) (pos / BLOCK_SIZE);
    }

    private void nextBlock() throws IOException {
        if (pos % BLOCK_SIZE != 0) zero(BLOCK_SIZE - pos % BLOCK_SIZE);
    }

    private static void fillExtents(ByteBuffer out, int count, int cap, long startBlock, long offset, long blocks) {
        out.putShort((short) EXTENT_MAGIC).putShort((short) count).putShort((short) cap).putShort((short) 0).putInt(0);
        for (int i = 0; i < count; i++) {
            long block = offset + (long) i * MAX_BLOCKS_PER_EXTENT;
            long length = Math.min(blocks - block, MAX_BLOCKS_PER_EXTENT);
            long start = startBlock + block;
            out.putInt((int) block).putShort((short) length).putShort((short) 0).putInt((int) start);
        }
        for (int i = count; i < cap; i++) out.putInt(0).putInt(0).putInt(0);
    }

    private void writeExtents(Inode inode) throws IOException {
        long start = pos - dataWritten;
        if (start % BLOCK_SIZE != 0) throw new IllegalStateException("unaligned file start");
        nextBlock();
        long startBlock = start / BLOCK_SIZE;
        long blocks = block() - startBlock;
        long usedBlocks = blocks;
        final int extentsPerBlock = BLOCK_SIZE / 12 - 1;
        long extents = (blocks + MAX_BLOCKS_PER_EXTENT - 1) / MAX_BLOCKS_PER_EXTENT;
        ByteBuffer root = ByteBuffer.allocate(60).order(ByteOrder.LITTLE_ENDIAN);
        if (extents == 0) {
            inode.data = new byte[0];
        } else if (extents <= 4) {
            fillExtents(root, (int) extents, 4, startBlock, 0, blocks);
            inode.data = root.array();
        } else if (extents <= 4L * extentsPerBlock) {
            long extentBlocks = extents / extentsPerBlock + 1;
            usedBlocks += extentBlocks;
            root.putShort((short) EXTENT_MAGIC).putShort((short) extentBlocks).putShort((short) 4)
                    .putShort((short) 1).putInt(0);
            for (long i = 0; i < extentBlocks; i++) {
                root.putInt((int) (i * extentsPerBlock * MAX_BLOCKS_PER_EXTENT)).putInt(block())
                        .putShort((short) 0).putShort((short) 0);
                // Azure's writer computes this count with extentBlocks where extentsPerBlock was
                // meant; it only matters past 42 GiB per file, and we match it byte for byte.
                long inBlock = Math.min(extents - i * extentBlocks, extentsPerBlock);
                long offset = i * extentsPerBlock * MAX_BLOCKS_PER_EXTENT;
                ByteBuffer node = ByteBuffer.allocate(BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
                fillExtents(node, (int) inBlock, extentsPerBlock, startBlock + offset, offset, blocks);
                rawWrite(node.array(), 0, BLOCK_SIZE);
            }
            inode.data = root.array();
        } else {
            throw new InvalidLayerException("'" + display(curName) + "' is too large for a layer disk");
        }
        inode.flags |= FLAG_EXTENTS;
        inode.blockCount += (int) usedBlocks;
    }

    private void finishInode() throws IOException {
        if (curInode == null) return;
        if (dataWritten != dataMax) {
            throw new InvalidLayerException("'" + display(curName) + "': " + dataWritten + " bytes of data written, "
                    + dataMax + " declared");
        }
        if (dataMax != 0) writeExtents(curInode);
        dataWritten = 0;
        dataMax = 0;
        curInode = null;
    }

    // ---------------------------------------------------------------- directories

    private static int fileType(int mode) {
        return switch (mode & TYPE_MASK) {
            case S_IFREG -> 1;
            case S_IFDIR -> 2;
            case S_IFCHR -> 3;
            case S_IFBLK -> 4;
            case S_IFIFO -> 5;
            case S_IFSOCK -> 6;
            case S_IFLNK -> 7;
            default -> 0;
        };
    }

    /** Children ordered as e2fsck would: by inode number, then name bytes. */
    private static List<Map.Entry<String, Inode>> sortedChildren(Inode dir) {
        List<Map.Entry<String, Inode>> list = new ArrayList<>(dir.children.entrySet());
        list.sort((a, b) -> {
            int c = Integer.compare(a.getValue().number, b.getValue().number);
            return c != 0 ? c : a.getKey().compareTo(b.getKey());
        });
        return list;
    }

    private void writeDirectory(Inode dir, Inode parent) throws IOException {
        finishInode();
        startInode("", dir, Long.MAX_VALUE);
        DirectoryBlocks blocks = new DirectoryBlocks();
        blocks.entry(dir.number, ".", fileType(dir.mode));
        blocks.entry(parent.number, "..", fileType(parent.mode));
        for (Map.Entry<String, Inode> e : sortedChildren(dir)) {
            blocks.entry(e.getValue().number, e.getKey(), fileType(e.getValue().mode));
        }
        blocks.finishBlock();
        dir.size = dataWritten;
        dataMax = dataWritten;
    }

    /** Fills directory blocks one at a time and streams each out when full. */
    private final class DirectoryBlocks {
        private final byte[] block = new byte[BLOCK_SIZE];
        private int used;

        void entry(int inode, String name, int fileType) throws IOException {
            int rlb = DIRENT_SIZE + name.length();
            int rl = (rlb + 3) & ~3;
            if (BLOCK_SIZE - used < rl + 12) finishBlock();
            putLe32(block, used, inode);
            putLe16(block, used + 4, rl);
            block[used + 6] = (byte) name.length();
            block[used + 7] = (byte) fileType;
            for (int i = 0; i < name.length(); i++) block[used + 8 + i] = (byte) name.charAt(i);
            used += rl;
        }

        void finishBlock() throws IOException {
            int left = BLOCK_SIZE - used;
            if (left > 0) {
                putLe32(block, used, 0);
                putLe16(block, used + 4, left);
                block[used + 6] = 0;
                block[used + 7] = 0;
            }
            rawWrite(block, 0, BLOCK_SIZE);
            dataWritten += BLOCK_SIZE;
            Arrays.fill(block, (byte) 0);
            used = 0;
        }
    }

    private void writeDirectories() throws IOException {
        // Pre-order walk without recursion: a hostile layer can nest directories deeply.
        Deque<Inode[]> stack = new ArrayDeque<>();
        stack.push(new Inode[] {root(), root()});
        while (!stack.isEmpty()) {
            Inode[] next = stack.pop();
            writeDirectory(next[0], next[1]);
            List<Map.Entry<String, Inode>> children = sortedChildren(next[0]);
            for (int i = children.size() - 1; i >= 0; i--) {
                Inode child = children.get(i).getValue();
                if (child.isDir()) stack.push(new Inode[] {child, next[0]});
            }
        }
    }

    // ---------------------------------------------------------------- inode table, bitmaps, superblock

    private void writeInodeTable(long tableSize) throws IOException {
        byte[] buf = new byte[INODE_SIZE * 64];
        int filled = 0;
        for (Inode inode : inodes) {
            if (inode != null) encodeInode(inode, buf, filled);
            filled += INODE_SIZE;
            if (filled == buf.length) {
                rawWrite(buf, 0, filled);
                Arrays.fill(buf, (byte) 0);
                filled = 0;
            }
        }
        if (filled > 0) rawWrite(buf, 0, filled);
        zero(tableSize - (long) inodes.size() * INODE_SIZE);
    }

    private static void encodeInode(Inode inode, byte[] buf, int off) {
        ByteBuffer b = ByteBuffer.wrap(buf, off, INODE_SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) inode.mode);
        b.putShort(2, (short) inode.uid);
        b.putInt(4, (int) inode.size);
        b.putInt(8, (int) inode.atime);
        b.putInt(12, (int) inode.ctime);
        b.putInt(16, (int) inode.mtime);
        b.putShort(24, (short) inode.gid);
        b.putShort(26, (short) inode.linkCount);
        b.putInt(28, inode.blockCount);
        b.putInt(32, inode.flags);
        switch (inode.type()) {
            case S_IFDIR, S_IFREG, S_IFLNK -> {
                if (inode.data != null) b.put(40, inode.data, 0, Math.min(60, inode.data.length));
            }
            case S_IFBLK, S_IFCHR -> {
                int dev = (inode.devMinor & 0xff) | inode.devMajor << 8 | (inode.devMinor & 0xffffff00) << 12;
                b.putInt(44, dev);
            }
            default -> { }
        }
        b.putInt(104, inode.xattrBlock);
        b.putInt(108, (int) (inode.size >>> 32));
        b.putShort(120, (short) (inode.uid >>> 16));
        b.putShort(122, (short) (inode.gid >>> 16));
        b.putShort(128, (short) (INODE_USED_SIZE - 128));
        b.putInt(132, (int) (inode.ctime >>> 32));
        b.putInt(136, (int) (inode.mtime >>> 32));
        b.putInt(140, (int) (inode.atime >>> 32));
        b.putInt(144, (int) inode.crtime);
        b.putInt(148, (int) (inode.crtime >>> 32));
        if (inode.xattrInline != null) b.put(INODE_USED_SIZE, inode.xattrInline);
    }

    private static long groupCount(long blocks, long inodes, long inodesPerGroup) {
        long inodeBlocksPerGroup = inodesPerGroup * INODE_SIZE / BLOCK_SIZE;
        long dataBlocksPerGroup = BLOCKS_PER_GROUP - inodeBlocksPerGroup - 2;
        long minBlocks = (inodes - 1) / inodesPerGroup * dataBlocksPerGroup + 1;
        if (blocks < minBlocks) blocks = minBlocks;
        return (blocks + dataBlocksPerGroup - 1) / dataBlocksPerGroup;
    }

    /**
     * Closes the image and returns its size in bytes. The superblock and group descriptors,
     * skipped at the start, are written last.
     */
    public long close() throws IOException {
        if (closed) throw new IllegalStateException("already closed");
        closed = true;
        finishInode();
        writeDirectories();
        finishInode();

        long inodeTableOffset = block();
        long groups = Long.MAX_VALUE;
        long inodesPerGroup = 0;
        for (long ipg = INODES_PER_GROUP_INCREMENT; ipg <= MAX_INODES_PER_GROUP; ipg += INODES_PER_GROUP_INCREMENT) {
            long g = groupCount(inodeTableOffset, inodes.size(), ipg);
            if (g < groups) {
                groups = g;
                inodesPerGroup = ipg;
            }
        }
        writeInodeTable(groups * inodesPerGroup * INODE_SIZE);

        long bitmapOffset = block();
        long bitmapSize = groups * 2;
        long validDataSize = bitmapOffset + bitmapSize;
        long diskSize = Math.max(validDataSize, (groups - 1) * BLOCKS_PER_GROUP + 1);
        long usedGdBlocks = (groups - 1) / GROUPS_PER_DESCRIPTOR_BLOCK + 1;
        if (usedGdBlocks > gdBlocks) throw tooBig();

        ByteBuffer gds = ByteBuffer.allocate(gdBlocks * BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long inodeTableBlocksPerGroup = inodesPerGroup * INODE_SIZE / BLOCK_SIZE;
        long totalUsedBlocks = 0;
        long totalUsedInodes = 0;
        byte[] b = new byte[BLOCK_SIZE * 2];
        for (long g = 0; g < groups; g++) {
            Arrays.fill(b, (byte) 0);
            int dirCount = 0;
            int usedInodes = 0;
            int usedBlocks = 0;
            if ((g + 1) * BLOCKS_PER_GROUP <= validDataSize) {
                Arrays.fill(b, 0, BLOCK_SIZE, (byte) 0xff);
                usedBlocks = BLOCKS_PER_GROUP;
            } else if (g * BLOCKS_PER_GROUP < validDataSize) {
                for (long j = 0; j < validDataSize - g * BLOCKS_PER_GROUP; j++) {
                    b[(int) (j / 8)] |= (byte) (1 << (j % 8));
                    usedBlocks++;
                }
            }
            if (g == 0) {
                // The descriptor blocks reserved for growth are not in use.
                for (long j = 1 + usedGdBlocks; j < 1 + gdBlocks; j++) {
                    b[(int) (j / 8)] &= (byte) ~(1 << (j % 8));
                    usedBlocks--;
                }
            }
            if (g == groups - 1 && diskSize % BLOCKS_PER_GROUP != 0) {
                // Blocks past the end of the disk count as allocated.
                for (long j = diskSize % BLOCKS_PER_GROUP; j < BLOCKS_PER_GROUP; j++) {
                    b[(int) (j / 8)] |= (byte) (1 << (j % 8));
                    usedBlocks++;
                }
            }
            for (long j = 0; j < inodesPerGroup; j++) {
                long ino = 1 + g * inodesPerGroup + j;
                Inode inode = ino <= inodes.size() ? inodes.get((int) ino - 1) : null;
                if (ino < INODE_FIRST || inode != null) {
                    b[BLOCK_SIZE + (int) (j / 8)] |= (byte) (1 << (j % 8));
                    usedInodes++;
                }
                if (inode != null && inode.isDir()) dirCount++;
            }
            rawWrite(b, 0, b.length);
            int at = (int) g * GROUP_DESCRIPTOR_SIZE;
            gds.putInt(at, (int) (bitmapOffset + 2 * g));
            gds.putInt(at + 4, (int) (bitmapOffset + 2 * g + 1));
            gds.putInt(at + 8, (int) (inodeTableOffset + g * inodeTableBlocksPerGroup));
            gds.putShort(at + 12, (short) (BLOCKS_PER_GROUP - usedBlocks));
            gds.putShort(at + 14, (short) (inodesPerGroup - usedInodes));
            gds.putShort(at + 16, (short) dirCount);
            totalUsedBlocks += usedBlocks & 0xffff;
            totalUsedInodes += usedInodes & 0xffff;
        }
        zero((diskSize - bitmapOffset - bitmapSize) * BLOCK_SIZE);

        for (int i = 0; i < gdBlocks; i++) {
            sink.writeBlock(1 + i, Arrays.copyOfRange(gds.array(), i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE));
        }
        sink.writeBlock(0, superblock(groups, inodesPerGroup, diskSize, totalUsedBlocks, totalUsedInodes));
        return diskSize * BLOCK_SIZE;
    }

    private static byte[] superblock(long groups, long inodesPerGroup, long diskSize, long usedBlocks, long usedInodes) {
        byte[] blk = new byte[BLOCK_SIZE];
        ByteBuffer s = ByteBuffer.wrap(blk, 1024, 1024).slice().order(ByteOrder.LITTLE_ENDIAN);
        s.putInt(0, (int) (inodesPerGroup * groups));
        s.putInt(4, (int) diskSize);
        s.putInt(12, (int) (BLOCKS_PER_GROUP * groups - usedBlocks));
        s.putInt(16, (int) (inodesPerGroup * groups - usedInodes));
        s.putInt(20, 0); // first data block
        s.putInt(24, 2); // log2(block size) - 10
        s.putInt(28, 2); // log2(cluster size) - 10
        s.putInt(32, BLOCKS_PER_GROUP);
        s.putInt(36, BLOCKS_PER_GROUP);
        s.putInt(40, (int) inodesPerGroup);
        s.putShort(56, (short) 0xef53);
        s.putShort(58, (short) 1); // cleanly unmounted
        s.putShort(60, (short) 1); // errors: continue
        s.putInt(72, 0); // creator OS: Linux
        s.putInt(76, 1); // dynamic inode sizes
        s.putInt(84, INODE_FIRST);
        s.putShort(88, (short) INODE_SIZE);
        s.putInt(92, 0x200 | 0x8); // sparse_super2, ext_attr
        s.putInt(96, 0x2 | 0x40 | 0x200); // filetype, extents, flex_bg
        s.putInt(100, 0x2 | 0x8 | 0x40 | 0x1000); // large_file, huge_file, extra_isize, readonly
        s.putShort(348, (short) (INODE_USED_SIZE - 128));
        s.putShort(350, (short) (INODE_USED_SIZE - 128));
        s.put(372, (byte) 31); // log2 groups per flex group
        s.putInt(616, INODE_FIRST); // lost+found
        return blk;
    }

    private static void putLe16(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }

    private static void putLe32(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }
}
