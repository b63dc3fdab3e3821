package dev.coffer.runtime.microvm;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import dev.coffer.runtime.guest.GuestBuilder;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.Sandbox;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Confidential scratch on a real kernel (the microVM guest's; this host has no device-mapper),
 * under TCG: the host attaches a sparse scratch disk, the agent encrypts it with dm-crypt over
 * dm-integrity (HMAC-SHA256) with a key made in the guest, and the group's writable layer and
 * emptyDir live there. The host then does what a hostile host would: it looks for the data on
 * the disk (only ciphertext), flips one byte of a file's sectors while the group runs, and the
 * container reading the file gets EIO, not wrong data. The throughput of the scratch, and of the
 * same disk without encryption in a second VM, is printed (measured, not asserted).
 */
class MicroVmScratchTest {
    @TempDir
    static Path shared;
    static GuestImage guest;

    @TempDir
    Path tmp;

    private static final String STATE = MicroVmSandboxBackend.GUEST_STATE_DIR;

    @BeforeAll
    static void buildGuest() throws Exception {
        guest = new GuestBuilder(shared.resolve("guest"), step -> { }).build();
    }

    @Test
    void encryptedScratchHidesTheDataAndAFlippedByteReadsAsEio() throws Exception {
        LayerDisk layer = MicroVmSandboxTest.layerDisk(tmp.resolve("layers"));
        Path groupDir = Files.createDirectories(tmp.resolve("groups/s1"));
        Sandbox sandbox = launch(groupDir, layer);
        Path scratchImage = groupDir.resolve("vm").resolve(MicroVmSandboxBackend.SCRATCH_DISK_FILE);
        List<String> figures = new ArrayList<>();
        try (AgentClient c = sandbox.connect()) {
            String target = STATE + "/scratch";
            // the target is the agent's own, never a place the host picks
            var elsewhere = assertThrows(AgentClient.AgentCallException.class,
                    () -> c.call(new Request.ScratchMount(STATE + "/devices/x", true), Result.Done.class));
            assertTrue(elsewhere.getMessage().contains("expected the scratch_mount target " + target), elsewhere.getMessage());
            long t0 = System.nanoTime();
            c.call(new Request.ScratchMount(target, true), Result.Done.class);
            figures.add(String.format("scratch_mount (format, open, mke2fs of a %d MiB disk): %.1f s", MicroVmSandboxBackend.SCRATCH_DISK_BYTES >> 20,
                    (System.nanoTime() - t0) / 1e9));
            var twice = assertThrows(AgentClient.AgentCallException.class,
                    () -> c.call(new Request.ScratchMount(target, false), Result.Done.class));
            assertTrue(twice.getMessage().contains("scratch_mount is sent once"), twice.getMessage());
            startShell(c, layer);

            // a file the container writes, with a marker a host could search the disk for
            String marker = "COFFER-SCRATCH-PLAINTEXT-MARKER";
            ok(c, "for i in $(seq 1 4096); do echo " + marker + "-$i; done > /data/marker.txt && sync");
            long[] before = blockHashes(scratchImage);
            assertFalse(contains(scratchImage, marker.getBytes()), "the host's disk holds only ciphertext: no plaintext marker on it");

            // 4 MiB the host will try to corrupt; written through (O_DIRECT) so the disk holds it, then compared
            ok(c, "head -c 4194304 /dev/zero | tr '\\000' Z > /data/victim && sync");
            long[] after = blockHashes(scratchImage);
            long[] run = longestChangedRun(before, after);
            assertTrue(run[1] >= 256, "expected the 4 MiB file as one run of changed 4 KiB blocks on the disk, found "
                    + run[1] + " blocks at block " + run[0]);
            String good = ok(c, "dd if=/data/victim bs=4096 iflag=direct 2>/dev/null | md5sum");
            long flipAt = (run[0] + run[1] / 2) * 4096 + 123;
            flipByte(scratchImage, flipAt);
            Result.ExecResult bad = sh(c, "dd if=/data/victim of=/dev/null bs=4096 iflag=direct");
            assertNotEquals(0, bad.exitCode(), "reading the file with a flipped sector must fail: " + bad);
            // dm-crypt fails the bio with BLK_STS_PROTECTION, which reaches a direct read as EILSEQ (buffered reads see EIO)
            String error = bad.stdout() + bad.stderr();
            assertTrue(error.contains("Invalid or incomplete multibyte or wide character") || error.contains("I/O error"),
                    "expected the read to fail with EILSEQ or EIO, found: " + bad);
            assertTrue(Files.readString(groupDir.resolve("vm/console.log")).contains("INTEGRITY AEAD ERROR"),
                    "the guest kernel names the authentication failure");
            figures.add("flipped byte at disk offset " + flipAt + ": the container's read failed with \"" + error.strip() + "\"");
            // nothing decrypted wrongly: whatever the container can read of the file is its own data, never altered
            Result.ExecResult partial = sh(c, "dd if=/data/victim bs=4096 iflag=direct conv=noerror 2>/dev/null | tr -d Z | wc -c");
            assertEquals("0", partial.stdout().strip(), "bytes other than the written ones came back: " + partial);
            // the rest of the scratch is unaffected: integrity is per sector
            ok(c, "grep -c " + marker + " /data/marker.txt");
            assertFalse(good.isBlank());

            // throughput of the authenticated scratch (O_DIRECT, so the disk path is measured, not the page cache)
            figures.add("dm-crypt+dm-integrity(hmac-sha256) " + ddFigures(c));
            // which AEADs the guest kernel has ready (the loaded ones; gcm, chacha20poly1305 and aegis128 are modules it does not load)
            figures.add("guest kernel AEADs loaded: " + sh(c, "awk '/^name/ {n = $3} /^type/ && $3 == \"aead\" {print n}' /proc/crypto"
                    + " | sort -u | tr '\\n' ' '").stdout().strip());
            c.call(new Request.ShutdownSandbox(5000), Result.Done.class);
        } finally {
            sandbox.destroy(60_000);
        }
        assertFalse(Files.exists(scratchImage), "the scratch disk is removed with the VM");

        // the same disk without encryption, for the cost of integrity (the policy must allow this; allow-all does)
        Path plainDir = Files.createDirectories(tmp.resolve("groups/s2"));
        Sandbox plain = launch(plainDir, layer);
        try (AgentClient c = plain.connect()) {
            c.call(new Request.ScratchMount(STATE + "/scratch", false), Result.Done.class);
            startShell(c, layer);
            String marker = "COFFER-SCRATCH-PLAINTEXT-MARKER";
            ok(c, "for i in $(seq 1 64); do echo " + marker + "-$i; done > /data/marker.txt && sync");
            assertTrue(contains(plainDir.resolve("vm").resolve(MicroVmSandboxBackend.SCRATCH_DISK_FILE), marker.getBytes()),
                    "unencrypted scratch is readable by the host: the search that found nothing above works");
            figures.add("none (ext4 on the raw virtio disk) " + ddFigures(c));
            c.call(new Request.ShutdownSandbox(5000), Result.Done.class);
        } finally {
            plain.destroy(60_000);
        }
        System.out.println("scratch throughput in the microVM (TCG, 1 vCPU, 64 MiB with O_DIRECT):");
        figures.forEach(f -> System.out.println("  " + f));
    }

    private Sandbox launch(Path groupDir, LayerDisk layer) throws Exception {
        MicroVmSandboxBackend backend = new MicroVmSandboxBackend(guest.dir(), Duration.ofSeconds(600));
        return backend.launch(MicroVmSandboxTest.request(groupDir),
                List.of(new MicroVm.Disk(layer.file(), MicroVmSandboxBackend.layerSerial(layer), true)), List.of());
    }

    /** The layer, an overlay on the scratch, and a container that stays up with an emptyDir at /data. */
    private static void startShell(AgentClient c, LayerDisk layer) throws Exception {
        String serial = MicroVmSandboxBackend.layerSerial(layer);
        c.call(new Request.MountDevice("/dev/disk/by-id/virtio-" + serial, STATE + "/devices/l0", layer.rootHash()), Result.Done.class);
        String rootfs = STATE + "/containers/c1/rootfs";
        c.call(new Request.MountOverlay("c1", List.of(STATE + "/devices/l0"), rootfs), Result.Done.class);
        c.call(new Request.CreateContainer("c1", rootfs, List.of("/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin; sleep 3600"),
                List.of("PATH=/bin"), "/", null, null, List.of(new Request.Mount("/data", "sandbox:///volumes/data", "bind",
                        List.of("rbind", "rw"))), null, true, "s"), Result.ContainerStatus.class);
        c.call(new Request.StartContainer("c1"), Result.ContainerStatus.class);
        // busybox installs its applets in the container's writable layer: the overlay's upper is on the scratch
        for (int i = 0; i < 100 && sh(c, "test -e /bin/dd").exitCode() != 0; i++) Thread.sleep(200);
    }

    private static Result.ExecResult sh(AgentClient c, String script) throws Exception {
        return c.call(new Request.ExecInContainer("c1", List.of("/bin/busybox", "sh", "-c", script), List.of("PATH=/bin"), "/", 300_000),
                Result.ExecResult.class);
    }

    private static String ok(AgentClient c, String script) throws Exception {
        Result.ExecResult r = sh(c, script);
        assertEquals(0, r.exitCode(), script + ": " + r);
        return r.stdout();
    }

    /**
     * Write then read 64 MiB with O_DIRECT, timed by the guest's clock (/proc/uptime, 10 ms steps;
     * busybox dd prints no rate).
     */
    private static String ddFigures(AgentClient c) throws Exception {
        String out = ok(c, "read t0 x < /proc/uptime; dd if=/dev/zero of=/data/bench bs=1M count=64 oflag=direct conv=fsync 2>/dev/null"
                + " && read t1 x < /proc/uptime && dd if=/data/bench of=/dev/null bs=1M iflag=direct 2>/dev/null"
                + " && read t2 x < /proc/uptime && echo $t0 $t1 $t2; rm -f /data/bench").strip();
        String[] t = out.split("\\s+");
        assertEquals(3, t.length, "expected three uptimes, found: " + out);
        double write = Double.parseDouble(t[1]) - Double.parseDouble(t[0]);
        double read = Double.parseDouble(t[2]) - Double.parseDouble(t[1]);
        return String.format("write %.1f MiB/s (%.2f s), read %.1f MiB/s (%.2f s)", 64 / write, write, 64 / read, read);
    }

    /** A 64-bit hash per 4 KiB block of the disk image (holes hash like zeros). */
    private static long[] blockHashes(Path image) throws Exception {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            int blocks = (int) (ch.size() / 4096);
            long[] out = new long[blocks];
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            byte[] block = new byte[4096];
            for (long pos = 0; pos < ch.size(); pos += buf.capacity()) {
                buf.clear();
                while (buf.hasRemaining() && ch.read(buf, pos + buf.position()) > 0) { }
                buf.flip();
                for (int off = 0; off + 4096 <= buf.limit(); off += 4096) {
                    buf.get(off, block);
                    out[(int) ((pos + off) / 4096)] = Arrays.hashCode(block) * 31L + Arrays.hashCode(Arrays.copyOf(block, 2048));
                }
            }
            return out;
        }
    }

    /** {start block, length} of the longest run of blocks that differ. */
    private static long[] longestChangedRun(long[] before, long[] after) {
        long bestStart = 0, bestLen = 0;
        for (int i = 0; i < before.length; ) {
            if (before[i] == after[i]) {
                i++;
                continue;
            }
            int j = i;
            while (j < before.length && before[j] != after[j]) j++;
            if (j - i > bestLen) {
                bestLen = j - i;
                bestStart = i;
            }
            i = j;
        }
        return new long[] {bestStart, bestLen};
    }

    private static boolean contains(Path image, byte[] needle) throws Exception {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((1 << 20) + needle.length);
            byte[] arr = buf.array();
            for (long pos = 0; pos < ch.size(); pos += 1 << 20) {
                buf.clear();
                while (buf.hasRemaining() && ch.read(buf, pos + buf.position()) > 0) { }
                int n = buf.position();
                outer:
                for (int i = 0; i + needle.length <= n; i++) {
                    if (arr[i] != needle[0]) continue;
                    for (int k = 1; k < needle.length; k++) if (arr[i + k] != needle[k]) continue outer;
                    return true;
                }
            }
            return false;
        }
    }

    private static void flipByte(Path image, long at) throws Exception {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x01));
            b.rewind();
            ch.write(b, at);
            ch.force(false);
        }
    }
}
