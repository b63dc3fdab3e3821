package dev.coffer.runtime.microvm;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerDiskCache;
import dev.coffer.runtime.guest.GuestBuilder;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.Sandbox;
import dev.coffer.runtime.sandbox.SandboxBackend;
import dev.coffer.runtime.sandbox.SandboxException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The microvm backend end to end under TCG: boots the real guest (built once for the class),
 * attaches a layer disk from the layer module, runs a busybox container in the VM through the
 * agent protocol over virtio-serial, reads its output back, and tears down without leftovers.
 */
class MicroVmSandboxTest {
    @TempDir
    static Path shared;
    static GuestImage guest;

    @TempDir
    Path tmp;

    @BeforeAll
    static void buildGuest() throws Exception {
        guest = new GuestBuilder(shared.resolve("guest"), step -> { }).build();
    }

    static SandboxBackend.LaunchRequest request(Path groupDir) {
        return new SandboxBackend.LaunchRequest(groupDir.getFileName().toString(), groupDir, "crun", "allow-all",
                Map.of("COFFER_ACCEL", "tcg"));
    }

    /** A layer holding the host's static busybox and a file, as a layer disk (ext4 + dm-verity). */
    static LayerDisk layerDisk(Path dir) throws Exception {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            TarArchiveEntry bin = new TarArchiveEntry("bin/");
            bin.setMode(040755);
            out.putArchiveEntry(bin);
            out.closeArchiveEntry();
            byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
            TarArchiveEntry bb = new TarArchiveEntry("bin/busybox");
            bb.setMode(0100755);
            bb.setSize(busybox.length);
            out.putArchiveEntry(bb);
            out.write(busybox);
            out.closeArchiveEntry();
            byte[] content = "layer content\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry("hello.txt");
            e.setSize(content.length);
            out.putArchiveEntry(e);
            out.write(content);
            out.closeArchiveEntry();
        }
        return new LayerDiskCache(dir).build(new ByteArrayInputStream(tar.toByteArray()));
    }

    @Test
    void aBusyboxContainerRunsInTheVmAndItsOutputComesBack() throws Exception {
        Path groupDir = Files.createDirectories(tmp.resolve("groups/g1"));
        LayerDisk layer = layerDisk(tmp.resolve("layers"));
        MicroVmSandboxBackend backend = new MicroVmSandboxBackend(guest.dir(), Duration.ofSeconds(600));
        String serial = MicroVmSandboxBackend.layerSerial(layer);
        Sandbox sandbox = backend.launch(request(groupDir), List.of(new MicroVm.Disk(layer.file(), serial, true)), List.of());
        long qemuPid = sandbox.record().agentPid();
        try {
            assertTrue(sandbox.agentAlive());
            assertEquals("microvm", sandbox.record().backend());
            try (AgentClient c = sandbox.connect()) {
                Result.Properties props = c.call(new Request.GetProperties(), Result.Properties.class);
                assertTrue(props.ociRuntime().startsWith("crun"), props.ociRuntime());
                assertEquals("dm-verity", props.layerVerification(), "the guest kernel has device-mapper");
                // the layer disk arrives as a block device named by its serial, opened with dm-verity
                String state = MicroVmSandboxBackend.GUEST_STATE_DIR;
                var wrongHash = assertThrows(AgentClient.AgentCallException.class, () -> c.call(new Request.MountDevice(
                        "/dev/disk/by-id/virtio-" + serial, state + "/devices/l0", "0".repeat(64)), Result.Done.class));
                assertTrue(wrongHash.getMessage().contains("root hash"), wrongHash.getMessage());
                // a disk that is not an attached layer (the agent's own disk, the launch disk) is no mount_device source
                for (String other : List.of("/dev/vda", "/dev/disk/by-id/virtio-" + GuestImage.AGENT_DISK_SERIAL,
                        "/dev/disk/by-id/virtio-coffer-launch")) {
                    var notLayer = assertThrows(AgentClient.AgentCallException.class, () -> c.call(new Request.MountDevice(
                            other, state + "/devices/l0", layer.rootHash()), Result.Done.class));
                    assertTrue(notLayer.getMessage().contains("one of the microVM's layer disks"), notLayer.getMessage());
                }
                c.call(new Request.MountDevice("/dev/disk/by-id/virtio-" + serial, state + "/devices/l0", layer.rootHash()),
                        Result.Done.class);
                String rootfs = state + "/containers/c1/rootfs";
                // the guest keeps writable layers on its scratch disk only: none before scratch_mount
                var noScratch = assertThrows(AgentClient.AgentCallException.class, () -> c.call(
                        new Request.MountOverlay("c1", List.of(state + "/devices/l0"), rootfs), Result.Done.class));
                assertTrue(noScratch.getMessage().contains("expected scratch_mount"), noScratch.getMessage());
                c.call(new Request.ScratchMount(state + "/scratch", true), Result.Done.class);
                c.call(new Request.MountOverlay("c1", List.of(state + "/devices/l0"), rootfs), Result.Done.class);
                c.call(new Request.CreateContainer("c1", rootfs, List.of("/bin/busybox", "sh", "-c",
                                "echo hello from the microvm; cat /hello.txt; for s in /sys/block/vd*/serial; do cat $s; echo; done"),
                        List.of("PATH=/bin"), "/", null, null, List.of(), null, true, "g1"), Result.ContainerStatus.class);
                c.call(new Request.StartContainer("c1"), Result.ContainerStatus.class);
                Result.ContainerStatus done = c.call(new Request.WaitContainer("c1", 120_000), Result.ContainerStatus.class);
                assertEquals("exited", done.state());
                assertEquals(0, done.exitCode());
                Result.LogChunk log = c.call(new Request.ReadLogs("c1", 0, 65536), Result.LogChunk.class);
                assertTrue(log.text().contains("hello from the microvm"), log.text());
                assertTrue(log.text().contains("layer content"), "the rootfs is the verified layer: " + log.text());
                // both disks arrived, named by serial: the agent disk and the layer disk
                assertTrue(log.text().contains(GuestImage.AGENT_DISK_SERIAL), log.text());
                assertTrue(log.text().contains(serial), log.text());
                c.call(new Request.ShutdownSandbox(5000), Result.Done.class);
            }
            sandbox.destroy(60_000);
        } finally {
            sandbox.destroy(0);
        }
        assertFalse(sandbox.agentAlive());
        assertTrue(ProcessHandle.of(qemuPid).map(h -> !h.isAlive()).orElse(true), "QEMU must be gone");
        assertFalse(Files.exists(groupDir.resolve("vm/agent.sock")), "no socket left behind");
        assertFalse(Files.exists(groupDir.resolve("vm/qemu.pid")));
        assertTrue(Files.readString(groupDir.resolve("vm/console.log")).contains("COFFER-INIT agent-starting"),
                "the guest console is kept for `coffer logs --guest`");
    }

    @Test
    void aTamperedAgentDiskStopsTheBootWithTheReason() throws Exception {
        Path copy = Files.createDirectories(tmp.resolve("tampered"));
        for (String f : List.of(GuestImage.MANIFEST, GuestImage.KERNEL_FILE, GuestImage.INITRD_FILE, GuestImage.AGENT_DISK_FILE)) {
            Files.copy(guest.dir().resolve(f), copy.resolve(f));
        }
        // flip one byte of the agent's jars region: dm-verity must refuse to read it
        try (var ch = java.nio.channels.FileChannel.open(copy.resolve(GuestImage.AGENT_DISK_FILE),
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            var b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, 1024); // the ext4 superblock: mount reads it first
            b.flip();
            b.put(0, (byte) (b.get(0) ^ 0x01));
            ch.write(b, 1024);
        }
        Path groupDir = Files.createDirectories(tmp.resolve("groups/g2"));
        MicroVmSandboxBackend backend = new MicroVmSandboxBackend(copy, Duration.ofSeconds(600));
        SandboxException e = assertThrows(SandboxException.class, () -> backend.launch(request(groupDir)));
        assertTrue(e.getMessage().contains("COFFER-INIT failed"), e.getMessage());
        assertFalse(Files.exists(groupDir.resolve("vm/agent.sock")), "no socket left behind");
        assertFalse(Files.exists(groupDir.resolve("vm/qemu.pid")), "no QEMU left behind");
    }

    @Test
    void bootTestSplitsTheStartBesideABareBoot() throws Exception {
        BootTest.Timings t = BootTest.run(guest, Accelerator.TCG, tmp.resolve("boot"), Duration.ofSeconds(600));
        // measured, not asserted against a budget: the order of the marks is what must hold
        assertTrue(t.bareToInitMs() > 0, t.toString());
        assertTrue(t.toInitMs() <= t.toRootSwitchedMs() && t.toRootSwitchedMs() <= t.toModulesLoadedMs()
                && t.toModulesLoadedMs() <= t.toAgentStartingMs() && t.toAgentStartingMs() <= t.toJvmStartedMs()
                && t.toJvmStartedMs() <= t.toAgentListeningMs() && t.toAgentListeningMs() <= t.toAgentAnsweredMs(), t.toString());
        assertTrue(t.properties().contains("allow-all"), "the boot-test launch runs nothing and enforces nothing: " + t.properties());
        System.out.println("microvm boot (tcg): " + t);
    }

    @Test
    void aMissingGuestSaysToBuildOne() {
        Path groupDir = tmp.resolve("groups/g3");
        MicroVmSandboxBackend backend = new MicroVmSandboxBackend(tmp.resolve("none"), Duration.ofSeconds(10));
        SandboxException e = assertThrows(SandboxException.class, () -> backend.launch(request(groupDir)));
        assertTrue(e.getMessage().contains("coffer guest build"), e.getMessage());
    }
}
