package dev.coffer.agent.container;

import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.layer.LayerHasher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Opens layer disks (ext4 image + dm-verity superblock and tree, as written by the layer module)
 * so that what gets mounted is exactly the layer whose root hash the policy pinned.
 *
 * <p>Two ways, chosen by what the host offers, never by the host's request:
 * <ul>
 *   <li>{@link #DM_VERITY}: {@code /dev/mapper/control} exists and the kernel lists device-mapper, so {@code veritysetup open}
 *       maps the disk against the root hash and the kernel checks every block as it is read;</li>
 *   <li>{@link #VERIFIED_LOOP}: no device-mapper (containers, most CI hosts). The whole disk is
 *       re-hashed in user space with the layer module's verity code and must produce the root
 *       hash; only then is the ext4 part loop-mounted read-only ({@code sizelimit} = the verified
 *       bytes). This checks once, up front: a host that can write the disk file afterwards could
 *       still change it, which dm-verity would catch and this cannot.</li>
 * </ul>
 */
final class LayerDevices {
    static final String DM_VERITY = "dm-verity";
    static final String VERIFIED_LOOP = "verified-in-full+loop";
    private static final Path MAPPER_CONTROL = Path.of("/dev/mapper/control");

    private LayerDevices() {}

    /** The method this host supports: dm-verity when device-mapper exists, else full verification + loop. */
    static String method() {
        // the control node can exist (created by udev or mknod) while the kernel has no device-mapper
        try {
            return Files.exists(MAPPER_CONTROL) && Files.readString(Path.of("/proc/misc")).contains("device-mapper")
                    ? DM_VERITY : VERIFIED_LOOP;
        } catch (IOException e) {
            return VERIFIED_LOOP;
        }
    }

    static LayerDevice open(Path disk, Path target, String rootHash, Path scratch) {
        LayerDisk layout;
        try {
            layout = LayerDiskCache.describe(disk, null);
        } catch (IOException e) {
            throw AgentException.invalid("expected a layer disk (ext4 + dm-verity) at " + disk + ", found: " + e.getMessage());
        }
        if (!layout.rootHash().equals(rootHash)) {
            throw AgentException.invalid("expected the layer disk " + disk + " to have dm-verity root hash " + rootHash
                    + ", found " + layout.rootHash() + "; the disk is not the layer the request names");
        }
        String method = method();
        if (method.equals(DM_VERITY)) {
            String name = "coffer-" + rootHash.substring(0, 16) + "-" + ProcessHandle.current().pid() + "-"
                    + target.getFileName();
            HostCommand.check(List.of("veritysetup", "open", disk.toString(), name, disk.toString(), rootHash,
                    "--hash-offset=" + layout.hashOffset()), 120_000);
            try {
                HostCommand.check(List.of("mount", "-t", "ext4", "-o", "ro", "/dev/mapper/" + name, target.toString()), 30_000);
            } catch (AgentException e) {
                HostCommand.run(List.of("veritysetup", "close", name), 30_000);
                throw e;
            }
            return new LayerDevice(disk, target, rootHash, method, name);
        }
        try {
            new LayerHasher(scratch).verifyDisk(disk, rootHash);
        } catch (IOException e) {
            throw AgentException.invalid("expected layer disk " + disk + " to verify in full against root hash " + rootHash
                    + ", it did not: " + e.getMessage() + "; rebuild the layer disk (it is cached under $COFFER_HOME/layers)");
        }
        HostCommand.check(List.of("mount", "-t", "ext4", "-o", "ro,loop,sizelimit=" + layout.dataSize(),
                disk.toString(), target.toString()), 30_000);
        return new LayerDevice(disk, target, rootHash, method, null);
    }

    static void close(LayerDevice device) {
        if (device == null) return;
        Mounts.unmount(device.target());
        if (device.mapperName() != null) {
            HostCommand.Outcome o = HostCommand.run(List.of("veritysetup", "close", device.mapperName()), 30_000);
            if (o.exitCode() != 0) {
                throw AgentException.failed("expected `veritysetup close " + device.mapperName() + "` to succeed, found: "
                        + o.output());
            }
        }
    }
}
