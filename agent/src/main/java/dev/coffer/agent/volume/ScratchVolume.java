package dev.coffer.agent.volume;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;

/**
 * The group's scratch: where its containers' writable layers and emptyDir volumes live, on the
 * disk the sandbox attached for it (serial {@value #DISK_SERIAL}).
 *
 * <p>Encrypted scratch is what Confidential Containers does for ephemeral storage: a key made
 * here from the guest's RNG, used once and never stored anywhere the host can read. The disk is
 * formatted as LUKS2 with a <em>detached</em> header kept in the agent's private memory (the
 * host's disk holds no header to tamper with, replay or read), {@code aes-xts-plain64} with
 * dm-integrity HMAC-SHA256 tags on every 4 KiB sector ({@link VolumeIntegrity#HMAC_SHA256}): a
 * sector the host flips or moves fails to read with EIO instead of decrypting to garbage. The
 * header and the passphrase are dropped once the mapping is active, so the volume key lives in
 * the kernel only, and a reboot makes the scratch unreadable to everyone.
 *
 * <p>Choices made for a disk that lives as long as the group:
 * <ul>
 *   <li>no dm-integrity journal ({@code --integrity-no-journal}): a crash loses the scratch anyway,
 *       so the journal's atomicity of data and tag buys nothing and would halve write throughput;</li>
 *   <li>no wipe at format ({@code --integrity-no-wipe}): sectors never written have no valid tag, so
 *       the file system is made with its inode tables written in full ({@code lazy_itable_init=0})
 *       and without a journal; ext4 then reads nothing it has not written first;</li>
 *   <li>PBKDF2 at the minimum: the passphrase is 512 random bits, not a person's.</li>
 * </ul>
 *
 * <p>Unencrypted scratch (only where the policy allows it) is ext4 made directly on the disk.
 *
 * <p>The process sandbox has no disk of its own: there the same encrypted scratch is made on a
 * sparse file in the group's state directory, attached to a loop device
 * ({@link #mountEncryptedFile}), where the host has device-mapper and loop devices. The host can
 * read the process sandbox's memory anyway, so this keeps the host's <em>disk</em> free of
 * plaintext (and a sector flipped on it unreadable), not the host itself out.
 */
public final class ScratchVolume {
    /** The virtio serial the sandbox attaches the scratch disk under; the only disk scratch may use. */
    public static final String DISK_SERIAL = "coffer-scratch";
    /** The device-mapper name of the encrypted scratch (one per guest: one group per microVM). */
    static final String MAPPER_NAME = "coffer-scratch";
    private static final int PASSPHRASE_BYTES = 64;
    /** The scratch file's size in the process sandbox, as the microVM's scratch disk: sparse, so only what is written takes room. */
    public static final long FILE_BYTES = 1L << 30;

    private ScratchVolume() {}

    /** Where the guest's udev-less /dev/disk/by-id names the scratch disk. */
    public static Path diskPath() {
        return Path.of("/dev/disk/by-id/virtio-" + DISK_SERIAL);
    }

    /**
     * A mounted scratch file system. {@code mapperName} is null for unencrypted scratch. The owner
     * unmounts it (and whatever it bind-mounted from it), then calls {@link #closeMapping()}, after
     * which the data is unreadable to anyone.
     */
    public record Mounted(Path device, String mapperName, Path mountPoint) {
        public boolean encrypted() {
            return mapperName != null;
        }

        /** What the scratch is, in words, for messages. */
        public String describe() {
            return encrypted() ? "encrypted (" + EncryptedVolume.CIPHER + " + dm-integrity " + VolumeIntegrity.HMAC_SHA256.id()
                    + ", key made in the sandbox) on " + device : "unencrypted ext4 on " + device;
        }

        /** Removes the dm-crypt mapping (and its dm-integrity device), dropping the key; nothing for unencrypted scratch. */
        public void closeMapping() {
            if (mapperName == null) return;
            Tool.Result c = Tool.run(List.of("cryptsetup", "close", mapperName), null, 60);
            if (!c.ok()) {
                throw new VolumeException(VolumeException.Reason.FAILED, "cannot close the scratch mapping " + mapperName + ": " + c.detail()
                        + "; something still uses " + mountPoint);
            }
        }
    }

    /** True when {@code device} is a block device: an attached scratch disk, not a file or nothing. */
    public static boolean isScratchDisk(Path device) {
        return EncryptedVolume.isBlockDevice(device);
    }

    /**
     * Why encrypted scratch cannot be made here, or null when it can: device-mapper with dm-crypt
     * must be usable, and {@code device} must be a block device.
     */
    public static String encryptedUnavailableReason(Path device) {
        String missing = EncryptedVolume.unavailableReason(false);
        if (missing != null) {
            return "encrypted scratch needs device-mapper (dm-crypt and dm-integrity) and " + missing.replaceFirst("^dm-crypt is unavailable: ", "")
                    + " (`dmsetup version` says the same)";
        }
        if (!EncryptedVolume.isBlockDevice(device)) {
            return "encrypted scratch needs the scratch disk the sandbox attaches (" + device + ", serial " + DISK_SERIAL
                    + "), found " + (Files.exists(device) ? "something that is not a block device" : "none");
        }
        return null;
    }

    /**
     * The device-mapper name of a process-sandbox group's encrypted scratch: several groups share
     * the host's device-mapper, so each has its own. {@code group} is a group name (lowercase
     * letters, digits, '-'; at most 63), so the name stays within device-mapper's 127.
     */
    public static String mapperNameFor(String group) {
        if (group == null || !group.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")) {
            throw new IllegalArgumentException("expected a group name of lowercase letters, digits and '-', found \"" + group + "\"");
        }
        return MAPPER_NAME + "-" + group;
    }

    /**
     * Why encrypted scratch on a file cannot be made on this host (the process sandbox), or null
     * when it can: device-mapper with dm-crypt and loop devices must be usable. The host asks this
     * before it chooses what to send in scratch_mount; the agent asks again before it acts.
     */
    public static String fileUnavailableReason() {
        String missing = EncryptedVolume.unavailableReason(true);
        if (missing == null) return null;
        return "encrypted scratch needs device-mapper (dm-crypt and dm-integrity) and loop devices, and "
                + missing.replaceFirst("^dm-crypt is unavailable: ", "");
    }

    /**
     * Encrypted, authenticated scratch as {@link #mountEncrypted(Path, Path, Path)} makes it, on a
     * fresh sparse file of {@link #FILE_BYTES} at {@code file} (a previous one is replaced, never
     * reused: its key is gone) attached to a loop device, mapped as {@code mapperName}. The loop
     * device is detached lazily as soon as the mapping holds it, so closing the mapping frees it
     * and nothing is left to track. On failure nothing stays attached, mapped or mounted.
     */
    public static Mounted mountEncryptedFile(Path file, String mapperName, Path mountPoint, Path privateDir) {
        String missing = fileUnavailableReason();
        if (missing != null) throw new VolumeException(VolumeException.Reason.UNSUPPORTED, missing);
        try {
            Files.deleteIfExists(file);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[1]), FILE_BYTES - 1);
            }
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot create the scratch file " + file + ": " + e.getMessage());
        }
        Tool.Result attach = Tool.run(List.of("losetup", "--find", "--show", file.toString()), null, 60);
        if (!attach.ok() || !attach.out().strip().startsWith("/dev/loop")) {
            deleteQuietly(file);
            throw new VolumeException(VolumeException.Reason.UNSUPPORTED, "cannot attach the scratch file " + file
                    + " to a loop device: " + attach.detail());
        }
        Path loop = Path.of(attach.out().strip());
        try {
            Mounted m = mountEncrypted(loop, mapperName, mountPoint, privateDir);
            return new Mounted(file, m.mapperName(), m.mountPoint());
        } catch (RuntimeException e) {
            deleteQuietly(file);
            throw e;
        } finally {
            // busy (the mapping holds it): the kernel marks it autoclear and frees it when the mapping
            // closes; not busy (the format failed): detached at once
            Tool.run(List.of("losetup", "--detach", loop.toString()), null, 60);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // nothing was written to it but zeros and ciphertext under a key that is gone
        }
    }

    /**
     * Formats {@code device} as encrypted, authenticated scratch with a fresh in-sandbox key and
     * mounts it at {@code mountPoint} (nosuid, nodev). {@code privateDir} is memory only the agent
     * reads (the guest's tmpfs), where the detached header lives until the mapping is active.
     * On failure nothing stays mapped or mounted.
     */
    public static Mounted mountEncrypted(Path device, Path mountPoint, Path privateDir) {
        String missing = encryptedUnavailableReason(device);
        if (missing != null) throw new VolumeException(VolumeException.Reason.UNSUPPORTED, missing);
        return mountEncrypted(device, MAPPER_NAME, mountPoint, privateDir);
    }

    private static Mounted mountEncrypted(Path device, String mapperName, Path mountPoint, Path privateDir) {
        byte[] passphrase = new byte[PASSPHRASE_BYTES];
        Path header = null;
        boolean mapped = false;
        try {
            new SecureRandom().nextBytes(passphrase);
            header = Files.createTempFile(privateDir, "scratch-", ".luks2", PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
            // cryptsetup wants the detached header's room to exist: sparse, in memory
            try (FileChannel ch = FileChannel.open(header, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[1]), Luks2Header.DATA_OFFSET - 1);
            }
            Tool.Result f = Tool.run(List.of("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
                    "--cipher", EncryptedVolume.CIPHER, "--key-size", String.valueOf(EncryptedVolume.VOLUME_KEY_BITS),
                    "--sector-size", String.valueOf(EncryptedVolume.SECTOR_SIZE), "--integrity", VolumeIntegrity.HMAC_SHA256.id(),
                    "--integrity-no-wipe", "--hash", "sha256", "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", String.valueOf(EncryptedVolume.PBKDF2_ITERATIONS),
                    "--header", header.toString(), "--key-file=-", device.toString()), passphrase, 600);
            if (!f.ok()) {
                throw new VolumeException(VolumeException.Reason.FAILED, "cryptsetup luksFormat of the scratch disk " + device
                        + " failed (exit " + f.exit() + "): " + f.detail());
            }
            Tool.Result o = Tool.run(List.of("cryptsetup", "open", "--type", "luks2", "--header", header.toString(),
                    "--integrity-no-journal", "--key-file=-", device.toString(), mapperName), passphrase, 120);
            if (!o.ok()) {
                throw new VolumeException(VolumeException.Reason.FAILED, "cryptsetup open of the scratch disk " + device
                        + " failed (exit " + o.exit() + "): " + o.detail());
            }
            mapped = true;
            // what the kernel does, not what cryptsetup was asked: authenticated XTS straight on the disk
            ActiveMapping.require(mapperName, VolumeIntegrity.HMAC_SHA256, 0);
            Path mapping = Path.of("/dev/mapper/" + mapperName);
            initializeGroupStarts(mapping);
            mkfsAndMount(mapping, mountPoint);
            return new Mounted(device, mapperName, mountPoint);
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot keep the scratch's detached header in " + privateDir
                    + ": " + e.getMessage());
        } catch (RuntimeException e) {
            if (mapped) Tool.run(List.of("cryptsetup", "close", mapperName), null, 60);
            throw e;
        } finally {
            Arrays.fill(passphrase, (byte) 0);
            if (header != null) {
                try {
                    Files.deleteIfExists(header);
                } catch (IOException ignored) {
                    // in the agent's own tmpfs, readable by root only; the key slot in it needs the zeroed passphrase
                }
            }
        }
    }

    /** Makes ext4 directly on {@code device} and mounts it at {@code mountPoint}: what an unencrypted scratch is. */
    public static Mounted mountUnencrypted(Path device, Path mountPoint) {
        if (!EncryptedVolume.isBlockDevice(device)) {
            throw new VolumeException(VolumeException.Reason.INVALID, "expected the scratch disk " + device + " (serial " + DISK_SERIAL
                    + ") to be a block device, found " + (Files.exists(device) ? "something else" : "nothing"));
        }
        mkfsAndMount(device, mountPoint);
        return new Mounted(device, null, mountPoint);
    }

    /** ext4's block group with 4 KiB blocks: 32768 blocks. */
    static final long GROUP_BYTES = 32768L * 4096;
    /** What is written at each group's start: the superblock (or its backup), descriptors and reserved descriptor blocks fit in it. */
    static final int GROUP_START_BYTES = 1 << 20;

    /**
     * Writes zeros over the first MiB of every ext4 block group. Without a wipe, a sector never
     * written has no valid tag and reads as EIO; mke2fs reads sector 0 (to look for an old file
     * system) and writes the 1 KiB superblock and its backups, which the kernel turns into a
     * read-modify-write of their 4 KiB block. Whole, aligned writes of these places first give
     * them valid tags; everything else ext4 writes in whole blocks before it reads them.
     * (Measured on the guest's kernel: without this, mke2fs fails with EIO on sector 0.)
     */
    private static void initializeGroupStarts(Path device) {
        Tool.Result size = Tool.require(List.of("blockdev", "--getsize64", device.toString()), null, 30, "reading the size of " + device);
        long bytes;
        try {
            bytes = Long.parseLong(size.out().strip());
        } catch (NumberFormatException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "expected blockdev --getsize64 " + device + " to print a size, found \""
                    + size.out().strip() + "\"");
        }
        ByteBuffer zeros = ByteBuffer.allocateDirect(GROUP_START_BYTES);
        try (FileChannel ch = FileChannel.open(device, StandardOpenOption.WRITE)) {
            for (long at = 0; at < bytes; at += GROUP_BYTES) {
                zeros.clear().limit((int) Math.min(GROUP_START_BYTES, bytes - at));
                while (zeros.hasRemaining()) ch.write(zeros, at + zeros.position());
            }
            ch.force(true);
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot initialize the block group starts of " + device + ": " + e.getMessage());
        }
    }

    private static void mkfsAndMount(Path device, Path mountPoint) {
        // inode tables written in full and no journal: nothing is read that was not written (see the class comment)
        Tool.require(List.of("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O", "^has_journal",
                "-E", "lazy_itable_init=0,lazy_journal_init=0,nodiscard", "-L", "coffer-scratch", device.toString()), null, 600,
                "making the scratch file system on " + device);
        try {
            Files.createDirectories(mountPoint);
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot create the scratch mount point " + mountPoint + ": " + e.getMessage());
        }
        Tool.require(List.of("mount", "-t", "ext4", "-o", "nosuid,nodev", device.toString(), mountPoint.toString()), null, 60,
                "mounting the scratch at " + mountPoint);
    }
}
