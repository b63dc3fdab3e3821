package dev.coffer.agent.volume;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LUKS2 volumes holding ext4, keyed by a vault key: {@code aes-xts-plain64} with a 512-bit
 * volume key, 4 KiB encryption sectors, authenticated by dm-integrity with HMAC-SHA256 tags
 * ({@link VolumeIntegrity}; plain XTS only when asked for), and PBKDF2-SHA256 at the minimum
 * 1,000 iterations for the keyslot. Opening checks the header first ({@link Luks2Header}). The PBKDF is deliberately light: the passphrase is a random 256-bit vault key,
 * not something a person chose, so stretching adds no strength and would only cost small
 * guests memory (argon2id) or time.
 *
 * <p>All work is done by {@code cryptsetup}, {@code losetup}, {@code mkfs.ext4} and
 * {@code mount}; the key reaches cryptsetup on stdin ({@code --key-file=-}), never in an
 * argument or a message. Images are plain files that stock {@code cryptsetup open} opens.
 */
public final class EncryptedVolume {
    public static final String CIPHER = "aes-xts-plain64";
    public static final int VOLUME_KEY_BITS = 512;
    public static final int SECTOR_SIZE = 4096;
    public static final int PBKDF2_ITERATIONS = 1000;
    /** The LUKS2 header with its default keyslot area takes 16 MiB; ext4 wants a few MiB more. */
    public static final long MIN_SIZE = 32L << 20;
    private static final long MAX_SIZE = 1L << 44;
    private static final Pattern MAPPER_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    private static final Path DM_CONTROL = Path.of("/dev/mapper/control");
    private static final int MIN_KEY_BYTES = 16;
    private static final int MAX_KEY_BYTES = 512;

    /**
     * The virtio serial under which a sandbox launched to create a volume attaches the new volume's
     * disk, and the only disk {@link #formatDisk} formats. A group's sandbox never attaches a disk
     * under it (its volumes are {@link EncryptedVolumes#diskSerial}, derived from their names).
     */
    public static final String NEW_DISK_SERIAL = "coffer-newvol";
    /** How much of a disk must read as zeros before it is formatted: where any header, partition table or file system starts. */
    static final int UNUSED_PREFIX_BYTES = 1 << 20;

    private EncryptedVolume() {}

    /** What {@code cryptsetup luksDump} says about a volume. */
    public record Info(int version, String cipher, int sectorSize, String pbkdf, long dataOffset) {}

    /** An open, mounted volume; {@link #close()} unmounts it and removes the mapping and loop device. */
    public record Opened(Path file, String loopDevice, String mapperName, Path mountPoint, boolean readOnly) implements AutoCloseable {
        public String mapperDevice() {
            return "/dev/mapper/" + mapperName;
        }

        @Override
        public void close() {
            EncryptedVolume.close(this);
        }
    }

    /**
     * Makes a new volume file of {@code size} bytes (rounded up to whole MiB) holding an empty
     * ext4 file system. The file must not exist; on failure it is removed again. Where
     * dm-crypt is available the file system is made through a dm-crypt mapping; elsewhere it
     * is made in a scratch file and encrypted in user space with the same volume key
     * cryptsetup stores, so the result is identical in format.
     */
    public static void create(Path file, long size, byte[] key, VolumeIntegrity integrity) {
        checkKeyShape(key);
        if (integrity != VolumeIntegrity.NONE) {
            // dm-integrity's superblock and tags are written by the kernel: no user-space path as for plain XTS
            String missing = unavailableReason();
            if (missing != null) {
                throw new VolumeException(VolumeException.Reason.UNSUPPORTED, "creating an authenticated volume (integrity "
                        + integrity.id() + ") needs device-mapper with dm-integrity here, and " + missing.replaceFirst("^dm-crypt is unavailable: ", "")
                        + "; create it on a host with dm_integrity and dm_crypt, or ask for a plain XTS volume (integrity none), which the policy"
                        + " must then allow explicitly");
            }
        }
        createEmptyImage(file, size);
        boolean done = false;
        byte[] volumeKey = new byte[integrity.volumeKeyBytes()];
        try {
            new SecureRandom().nextBytes(volumeKey);
            format(file, key, volumeKey, integrity);
            // what cryptsetup wrote must be what every open will demand; a different cryptsetup shows here, not at first open
            Luks2Header.read(file).requireCofferShape(integrity, null);
            if (unavailableReason() == null) {
                mkfsThroughDmCrypt(file, key);
            } else {
                mkfsInUserSpace(file, volumeKey);
            }
            checkKey(file, key);
            done = true;
        } finally {
            Arrays.fill(volumeKey, (byte) 0);
            if (!done) cleanup(file);
        }
    }

    /**
     * Makes {@code file}, which must not exist, as an all-zero (sparse) image of {@code size} bytes
     * rounded up to whole MiB, readable by its owner only: what {@link #create} formats here, or a
     * microVM formats where this host has no device-mapper ({@link #formatDisk}). On failure nothing is left.
     */
    public static void createEmptyImage(Path file, long size) {
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new VolumeException(VolumeException.Reason.INVALID, "volume size must be between " + (MIN_SIZE >> 20) + " MiB and 16 TiB, found "
                    + size + " bytes; e.g. --size 64M");
        }
        long rounded = (size + (1 << 20) - 1) & ~((1L << 20) - 1);
        Path parent = file.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new VolumeException(VolumeException.Reason.INVALID, "directory " + parent + " does not exist; create it first");
        }
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            throw new VolumeException(VolumeException.Reason.INVALID, file + " already exists; choose a new file name (volumes are never overwritten)");
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot create " + file + ": " + e.getMessage());
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(rounded);
            ch.write(ByteBuffer.wrap(new byte[1]), rounded - 1);
            ch.force(true);
        } catch (IOException e) {
            cleanup(file);
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot size " + file + " to " + rounded + " bytes: " + e.getMessage());
        }
    }

    /** Where the guest's udev-less /dev/disk/by-id names the disk attached for a new volume. */
    public static Path newDiskPath() {
        return Path.of("/dev/disk/by-id/virtio-" + NEW_DISK_SERIAL);
    }

    /**
     * Formats {@code disk}, a block device that holds nothing yet, exactly as {@link #create} formats
     * a file: LUKS2 with {@code integrity}, an ext4 file system inside, then checks what cryptsetup
     * wrote against the shape every open demands, and returns the header's digest (what the policy pins).
     * This is how a host without device-mapper makes an authenticated volume: a short-lived microVM of
     * the endorsed guest does it on a real kernel.
     *
     * <p>Why this is no weaker than formatting on the host: at create time the host chooses the key
     * either way (it imports it into the vault), so the guest adds no secret the host lacks and needs
     * none of its own. What protects the data later is that the group's policy pins this header's
     * digest and the agent opens nothing else, and that the key is released only to that policy's
     * sandbox. A host that lies here only gets a volume whose digest it printed itself.
     *
     * <p>What a hostile host could want from it is to have a guest format a disk that holds data.
     * Three things stop that: generated policies never allow this request (the framework denies it);
     * only the disk attached for creation ({@link #NEW_DISK_SERIAL}) is formatted, never a path the
     * host names; and a disk whose first MiB is not all zeros (a LUKS header, a partition table, a
     * file system) is refused, so even that disk is never overwritten.
     */
    public static String formatDisk(Path disk, byte[] key, VolumeIntegrity integrity) {
        checkKeyShape(key);
        if (!isBlockDevice(disk)) {
            throw new VolumeException(VolumeException.Reason.INVALID, "expected the disk attached for the new volume at " + disk
                    + " (serial " + NEW_DISK_SERIAL + "), found " + (Files.exists(disk) ? "something that is not a block device" : "none")
                    + "; attach the volume's image under that serial");
        }
        String missing = unavailableReason(false);
        if (missing != null) throw new VolumeException(VolumeException.Reason.UNSUPPORTED, "cannot format " + disk + ": " + missing);
        long size = diskBytes(disk);
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ)) {
            if (size < MIN_SIZE || size > MAX_SIZE) {
                throw new VolumeException(VolumeException.Reason.INVALID, "expected a new volume disk of " + (MIN_SIZE >> 20)
                        + " MiB to 16 TiB, found " + size + " bytes");
            }
            ByteBuffer prefix = ByteBuffer.allocate(UNUSED_PREFIX_BYTES);
            while (prefix.hasRemaining() && ch.read(prefix, prefix.position()) >= 0) {
                // read the whole prefix
            }
            byte[] b = prefix.array();
            for (int i = 0; i < b.length; i++) {
                if (b[i] != 0) {
                    throw new VolumeException(VolumeException.Reason.INVALID, "refusing to format " + disk + ": expected a disk that holds"
                            + " nothing (its first " + (UNUSED_PREFIX_BYTES >> 20) + " MiB all zeros), found a non-zero byte at offset " + i
                            + "; a new volume is made on a new, empty image, never over existing data");
                }
            }
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot read " + disk + ": " + e.getMessage());
        }
        byte[] volumeKey = new byte[integrity.volumeKeyBytes()];
        try {
            new SecureRandom().nextBytes(volumeKey);
            format(disk, key, volumeKey, integrity);
        } finally {
            Arrays.fill(volumeKey, (byte) 0);
        }
        Luks2Header header = Luks2Header.read(disk);
        header.requireCofferShape(integrity, null);
        String name = "coffer-mkfs-" + HexFormat.of().formatHex(randomBytes(6));
        openMapping(disk, disk.toString(), key, name, false, null);
        try {
            ActiveMapping.require(name, integrity);
            // mke2fs -t ext4: the guest carries mke2fs, not the mkfs.ext4 link; the same file system either way
            Tool.require(List.of("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "coffer", "/dev/mapper/" + name), null, 600,
                    "making ext4 in " + disk);
        } finally {
            Tool.Result c = Tool.run(List.of("cryptsetup", "close", name), null, 60);
            if (!c.ok()) System.err.println("coffer-agent: cryptsetup close " + name + " failed: " + c.detail());
        }
        Tool.run(List.of("sync"), null, 60);
        return header.digest();
    }

    /** The size of block device {@code disk} in bytes, from sysfs (a block device's own file size reads as 0). */
    public static long diskBytes(Path disk) {
        try {
            Path real = disk.toRealPath();
            String sectors = Files.readString(Path.of("/sys/class/block", real.getFileName().toString(), "size")).strip();
            return Long.parseLong(sectors) * 512;
        } catch (IOException | NumberFormatException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot find the size of " + disk + " in /sys/class/block: " + e.getMessage());
        }
    }

    /** luksFormat with a volume key we chose, passed through a private FIFO (never a file on disk). */
    private static void format(Path file, byte[] key, byte[] volumeKey, VolumeIntegrity integrity) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("coffer-luks-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path fifo = dir.resolve("volume-key");
            Tool.require(List.of("mkfifo", "-m", "600", fifo.toString()), null, 10, "creating a FIFO for the volume key");
            // Opened read-write, a FIFO does not block and holds the key in the kernel pipe buffer
            // until cryptsetup, which reads exactly key-size bytes, takes it.
            try (SeekableByteChannel pipe = Files.newByteChannel(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                pipe.write(ByteBuffer.wrap(volumeKey));
                List<String> cmd = new ArrayList<>(List.of("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
                        "--cipher", CIPHER, "--key-size", String.valueOf(VOLUME_KEY_BITS), "--sector-size", String.valueOf(SECTOR_SIZE),
                        "--hash", "sha256", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", String.valueOf(PBKDF2_ITERATIONS),
                        "--volume-key-file", fifo.toString(), "--key-file=-"));
                // cryptsetup appends the integrity key to --key-size's XTS key; the FIFO holds both.
                // Wiping (the default) gives every sector a valid tag, so reads of unwritten sectors succeed.
                if (integrity != VolumeIntegrity.NONE) cmd.addAll(List.of("--integrity", integrity.id()));
                cmd.add(file.toString());
                Tool.Result r = Tool.run(cmd, key, 600);
                if (!r.ok()) {
                    throw new VolumeException(VolumeException.Reason.FAILED, "cryptsetup luksFormat of " + file + " failed (exit " + r.exit() + "): " + r.detail());
                }
            }
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot pass the volume key to cryptsetup: " + e.getMessage());
        } finally {
            if (dir != null) {
                try {
                    Files.deleteIfExists(dir.resolve("volume-key"));
                    Files.deleteIfExists(dir);
                } catch (IOException ignored) {
                    // an empty FIFO in a private temp directory holds nothing
                }
            }
        }
    }

    private static void mkfsThroughDmCrypt(Path file, byte[] key) {
        String name = "coffer-mkfs-" + HexFormat.of().formatHex(randomBytes(6));
        String loop = attachLoop(file, false);
        try {
            openMapping(file, loop, key, name, false, null);
            try {
                Tool.require(List.of("mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "coffer", "/dev/mapper/" + name), null, 300,
                        "making ext4 in " + file);
            } finally {
                Tool.run(List.of("cryptsetup", "close", name), null, 60);
            }
        } finally {
            Tool.run(List.of("losetup", "-d", loop), null, 30);
        }
    }

    /** Where dm-crypt is missing: mkfs.ext4 in a scratch file (an empty file system holds no secret), then XTS in Java. */
    private static void mkfsInUserSpace(Path file, byte[] volumeKey) {
        Info info = inspect(file);
        long dataSize;
        Path plain = null;
        try {
            dataSize = (Files.size(file) - info.dataOffset()) / SECTOR_SIZE * SECTOR_SIZE;
            plain = Files.createTempFile(file.toAbsolutePath().getParent(), ".coffer-plain-", ".ext4");
            try (FileChannel ch = FileChannel.open(plain, StandardOpenOption.WRITE)) {
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(new byte[1]), dataSize - 1);
            }
            Tool.require(List.of("mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "coffer", plain.toString()), null, 300, "making ext4 for " + file);
            Xts xts = new Xts(volumeKey, true);
            byte[] buf = new byte[1 << 20];
            try (FileChannel in = FileChannel.open(plain, StandardOpenOption.READ);
                 FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE)) {
                for (long pos = 0; pos < dataSize; pos += buf.length) {
                    int n = (int) Math.min(buf.length, dataSize - pos);
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) {
                        if (in.read(bb, pos + bb.position()) < 0) throw new IOException("scratch image ended early at " + (pos + bb.position()));
                    }
                    for (int s = 0; s < n; s += SECTOR_SIZE) {
                        // plain64 counts 512-byte sectors from the start of the data segment, whatever the encryption sector size.
                        xts.unit(buf, s, SECTOR_SIZE, (pos + s) / 512);
                    }
                    ByteBuffer w = ByteBuffer.wrap(buf, 0, n);
                    while (w.hasRemaining()) out.write(w, info.dataOffset() + pos + w.position());
                }
                out.force(true);
            }
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot write the encrypted file system of " + file + ": " + e.getMessage());
        } finally {
            if (plain != null) cleanup(plain);
        }
    }

    /**
     * Opens {@code file} with {@code key} as {@code /dev/mapper/<mapperName>} over a loop
     * device (or directly, for a block device) and mounts its ext4 at {@code mountPoint}
     * (created if missing; nosuid, nodev).
     *
     * <p>Before the key is used, the header is read and must be exactly the shape
     * {@code coffer volume create} makes with {@code integrity} and, when {@code pinnedDigest} is
     * not null, the header the policy pins ({@link Luks2Header}). cryptsetup then reads that very
     * copy (a detached header in private memory), not the host's disk again, and after the open
     * the kernel's active mapping must show the expected cipher, integrity, sector size and data
     * offset; otherwise it is closed again before anything is mounted.
     */
    public static Opened open(Path file, byte[] key, String mapperName, Path mountPoint, boolean readOnly,
                              VolumeIntegrity integrity, String pinnedDigest) {
        checkKeyShape(key);
        if (mapperName == null || !MAPPER_NAME.matcher(mapperName).matches()) {
            throw new VolumeException(VolumeException.Reason.INVALID, "mapper name '" + mapperName
                    + "' must be 1-64 letters, digits, '_', '.', '-' and not start with '.' or '-'");
        }
        boolean blockDevice = isBlockDevice(file);
        if (!blockDevice && !Files.isRegularFile(file)) {
            throw new VolumeException(VolumeException.Reason.INVALID, file + " is neither a volume file nor a block device;"
                    + " create one with 'coffer volume create'");
        }
        Luks2Header header = Luks2Header.read(file);
        header.requireCofferShape(integrity, pinnedDigest);
        Path headerCopy = privateCopy(header, file);
        try {
            checkKey(headerCopy, key, file);
            String reason = unavailableReason(!blockDevice);
            if (reason != null) throw new VolumeException(VolumeException.Reason.UNSUPPORTED, "cannot open " + file + ": " + reason);
            try {
                Files.createDirectories(mountPoint);
            } catch (IOException e) {
                throw new VolumeException(VolumeException.Reason.FAILED, "cannot create mount point " + mountPoint + ": " + e.getMessage());
            }
            // a block device (a microVM's virtio disk) is opened directly; a file needs a loop device first
            String loop = blockDevice ? null : attachLoop(file, readOnly);
            boolean mapped = false;
            try {
                openMapping(file, blockDevice ? file.toString() : loop, key, mapperName, readOnly, headerCopy);
                mapped = true;
                ActiveMapping.require(mapperName, integrity);
                List<String> mount = new ArrayList<>(List.of("mount", "-t", "ext4", "-o", readOnly ? "ro,nosuid,nodev,noload" : "nosuid,nodev",
                        "/dev/mapper/" + mapperName, mountPoint.toString()));
                Tool.require(mount, null, 60, "mounting " + file + " at " + mountPoint);
                return new Opened(file, loop, mapperName, mountPoint, readOnly);
            } catch (RuntimeException e) {
                if (mapped) Tool.run(List.of("cryptsetup", "close", mapperName), null, 60);
                if (loop != null) Tool.run(List.of("losetup", "-d", loop), null, 30);
                throw e;
            }
        } finally {
            cleanup(headerCopy);
        }
    }

    /**
     * The checked header bytes and keyslot 0's area behind them, in a private file for cryptsetup's
     * {@code --header}: the metadata it reads is then what was checked, whatever the host does to
     * its disk. The file is sparse (the rest of the 16 MiB keyslot area is holes), so a small
     * guest spends a few hundred KiB of memory on it. (The keyslot area itself needs no check: a
     * changed one only fails to unlock, since the pinned metadata holds the volume key's digest.)
     */
    private static Path privateCopy(Luks2Header header, Path device) {
        Path copy = null;
        try {
            copy = Files.createTempFile("coffer-luks2-", ".hdr", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            long[] area = header.keyslotArea();
            ByteBuffer slot = ByteBuffer.allocate((int) area[1]);
            try (FileChannel in = FileChannel.open(device, StandardOpenOption.READ)) {
                while (slot.hasRemaining()) {
                    if (in.read(slot, area[0] + slot.position()) < 0) throw new IOException("the keyslot area ends early at " + (area[0] + slot.position()));
                }
            }
            slot.flip();
            try (FileChannel out = FileChannel.open(copy, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(header.bytes());
                while (b.hasRemaining()) out.write(b, b.position());
                while (slot.hasRemaining()) out.write(slot, area[0] + slot.position());
                // the header device's size as cryptsetup expects it: both headers and the whole keyslot area
                out.write(ByteBuffer.wrap(new byte[1]), Luks2Header.DATA_OFFSET - 1);
            }
            return copy;
        } catch (IOException e) {
            if (copy != null) cleanup(copy);
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot keep a private copy of the checked LUKS2 header: " + e.getMessage());
        }
    }

    /** Unmounts, closes the mapping and detaches the loop device; each step is tried even if an earlier one failed. */
    public static void close(Opened v) {
        List<String> failures = new ArrayList<>();
        Tool.Result u = Tool.run(List.of("umount", v.mountPoint().toString()), null, 60);
        if (!u.ok()) failures.add("umount " + v.mountPoint() + ": " + u.detail());
        Tool.Result c = Tool.run(List.of("cryptsetup", "close", v.mapperName()), null, 60);
        if (!c.ok()) failures.add("cryptsetup close " + v.mapperName() + ": " + c.detail());
        if (v.loopDevice() != null) {
            Tool.Result l = Tool.run(List.of("losetup", "-d", v.loopDevice()), null, 30);
            if (!l.ok()) failures.add("losetup -d " + v.loopDevice() + ": " + l.detail());
        }
        if (!failures.isEmpty()) {
            throw new VolumeException(VolumeException.Reason.FAILED, "closing " + v.file() + " left state behind: " + String.join("; ", failures)
                    + "; stop processes using " + v.mountPoint() + " and retry");
        }
    }

    /** Fails with {@link VolumeException.Reason#WRONG_KEY} unless {@code key} opens a keyslot of {@code file}; needs no dm-crypt. */
    public static void checkKey(Path file, byte[] key) {
        checkKey(file, key, file);
    }

    /** {@link #checkKey(Path, byte[])} on {@code header} (a file or a detached header copy), naming {@code shown} in errors. */
    private static void checkKey(Path header, byte[] key, Path shown) {
        checkKeyShape(key);
        Tool.Result r = Tool.run(List.of("cryptsetup", "open", "--test-passphrase", "--type", "luks2", "--key-file=-", header.toString()), key, 120);
        if (r.ok()) return;
        if (r.exit() == 2) {
            throw new VolumeException(VolumeException.Reason.WRONG_KEY, "the key does not open " + shown
                    + ": no LUKS2 keyslot accepts it; release the vault key the volume was created with");
        }
        if (r.exit() == 1 || r.detail().contains("not a valid LUKS")) {
            throw new VolumeException(VolumeException.Reason.INVALID, shown + " is not a LUKS2 volume (" + r.detail() + "); create one with 'coffer volume create'");
        }
        throw new VolumeException(VolumeException.Reason.FAILED, "cryptsetup could not check the key of " + shown + " (exit " + r.exit() + "): " + r.detail());
    }

    /** The header facts of a volume, from {@code cryptsetup luksDump}. */
    public static Info inspect(Path file) {
        Tool.Result r = Tool.run(List.of("cryptsetup", "luksDump", file.toString()), null, 60);
        if (!r.ok()) throw new VolumeException(VolumeException.Reason.INVALID, file + " is not a LUKS volume: " + r.detail());
        String dump = r.out();
        String segment = dump.contains("Data segments:") ? dump.substring(dump.indexOf("Data segments:")) : "";
        String keyslots = dump.contains("Keyslots:") ? dump.substring(dump.indexOf("Keyslots:")) : "";
        return new Info((int) number(dump, "Version:\\s*(\\d+)", file), text(segment, "cipher:\\s*(\\S+)", file),
                (int) number(segment, "sector:\\s*(\\d+)", file), text(keyslots, "PBKDF:\\s*(\\S+)", file),
                number(segment, "offset:\\s*(\\d+)", file));
    }

    /** Null when dm-crypt and loop devices can be used here; else why not, in one line. */
    public static String unavailableReason() {
        return unavailableReason(true);
    }

    /**
     * True for a block device node (S_IFBLK), such as a microVM's /dev/vdb; false for anything else
     * or nothing. A mode that cannot be read counts as "not a block device": callers refuse then.
     * (Also how the agent checks a layer source.)
     */
    public static boolean isBlockDevice(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return (mode & 0170000) == 0060000;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Null when dm-crypt (and, with {@code needLoop}, loop devices for image files) can be used here; else why not. */
    public static String unavailableReason(boolean needLoop) {
        // libdevmapper creates /dev/mapper/control on demand, so the node proves nothing: ask the kernel.
        String misc;
        try {
            misc = Files.readString(Path.of("/proc/misc"));
        } catch (IOException e) {
            misc = "";
        }
        if (!misc.matches("(?s).*\\bdevice-mapper\\b.*")) {
            return "dm-crypt is unavailable: the kernel has no device-mapper (no 'device-mapper' in /proc/misc); use a host with "
                    + "dm_mod and dm_crypt loaded (modprobe dm_crypt) or the microvm sandbox";
        }
        if (!Files.exists(DM_CONTROL)) {
            return "dm-crypt is unavailable: " + DM_CONTROL + " does not exist (this container cannot reach the device-mapper); "
                    + "give it /dev/mapper/control or use the microvm sandbox";
        }
        // dmsetup is optional (cryptsetup talks to device-mapper itself; a minimal guest has none):
        // without it, whether the crypt target loads shows when the volume is opened
        Tool.Result targets = Files.isExecutable(Path.of("/usr/sbin/dmsetup")) || Files.isExecutable(Path.of("/sbin/dmsetup"))
                ? Tool.run(List.of("dmsetup", "targets"), null, 30) : null;
        if (targets != null && targets.ok() && !targets.out().matches("(?s).*\\bcrypt\\b.*")) {
            return "dm-crypt is unavailable: device-mapper has no crypt target (dmsetup targets); load it with modprobe dm_crypt";
        }
        if (!needLoop) return null;
        if (!Files.exists(Path.of("/dev/loop-control"))) {
            return "loop devices are unavailable: /dev/loop-control does not exist; load the loop module (modprobe loop)";
        }
        Tool.Result r = Tool.run(List.of("losetup", "-f"), null, 30);
        if (!r.ok()) return "no free loop device: losetup -f failed: " + r.detail();
        return null;
    }

    private static String attachLoop(Path file, boolean readOnly) {
        List<String> cmd = new ArrayList<>(List.of("losetup", "--find", "--show"));
        if (readOnly) cmd.add("--read-only");
        cmd.add(file.toString());
        Tool.Result r = Tool.run(cmd, null, 60);
        if (!r.ok() || !r.out().strip().startsWith("/dev/loop")) {
            throw new VolumeException(VolumeException.Reason.UNSUPPORTED, "cannot attach " + file + " to a loop device: " + r.detail());
        }
        return r.out().strip();
    }

    private static void openMapping(Path file, String loop, byte[] key, String name, boolean readOnly, Path header) {
        List<String> cmd = new ArrayList<>(List.of("cryptsetup", "open", "--type", "luks2", "--key-file=-"));
        if (header != null) cmd.addAll(List.of("--header", header.toString()));
        if (readOnly) cmd.add("--readonly");
        cmd.add(loop);
        cmd.add(name);
        Tool.Result r = Tool.run(cmd, key, 120);
        if (r.ok()) return;
        if (r.exit() == 2) {
            throw new VolumeException(VolumeException.Reason.WRONG_KEY, "the key does not open " + file + ": no LUKS2 keyslot accepts it");
        }
        if (r.exit() == 5) {
            throw new VolumeException(VolumeException.Reason.INVALID, "mapping " + name + " is already in use: " + r.detail()
                    + "; close it (cryptsetup close " + name + ") or choose another name");
        }
        throw new VolumeException(VolumeException.Reason.FAILED, "cryptsetup open of " + file + " failed (exit " + r.exit() + "): " + r.detail());
    }

    private static void checkKeyShape(byte[] key) {
        if (key == null || key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
            throw new VolumeException(VolumeException.Reason.INVALID, "a volume key must be " + MIN_KEY_BYTES + " to " + MAX_KEY_BYTES
                    + " bytes (vault oct keys are 32), found " + (key == null ? "none" : key.length + " bytes"));
        }
    }

    private static long number(String text, String regex, Path file) {
        return Long.parseLong(text(text, regex, file));
    }

    private static String text(String text, String regex, Path file) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) throw new VolumeException(VolumeException.Reason.INVALID, "cryptsetup luksDump of " + file + " has no " + regex.split(":")[0]);
        return m.group(1);
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static void cleanup(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // best effort; the caller's error says what failed
        }
    }
}
