package dev.coffer.runtime.microvm;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.agent.volume.EncryptedVolume;
import dev.coffer.runtime.preflight.HostProbe;
import dev.coffer.runtime.sandbox.Sandbox;
import dev.coffer.runtime.sandbox.SandboxBackend;
import dev.coffer.runtime.sandbox.SandboxException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A short-lived microVM of the built guest that formats one new volume image on the guest's real
 * kernel (dm-crypt, dm-integrity), for hosts without device-mapper: the image is attached
 * writable under {@link EncryptedVolume#NEW_DISK_SERIAL}, the agent formats that disk and no
 * other ({@code format_encrypted_volume}), answers the header digest, and the VM is destroyed.
 *
 * <p>The VM runs the allow-all policy without a TEE: it holds no secret the host lacks (the host
 * made the key and imports it into the vault) and attests nothing. What makes the result
 * trustworthy is later: the group's policy pins the header digest this returns, and the agent
 * of a group opens no other header. Groups' policies never allow formatting.
 */
public final class VolumeFormatVm {
    /** Booting, wiping the integrity tags and mkfs under TCG take minutes on a slow host; KVM takes seconds. */
    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration FORMAT_TIMEOUT = Duration.ofMinutes(30);

    private VolumeFormatVm() {}

    /**
     * Why a microVM cannot format here, or null when it can: QEMU must be on the PATH and the guest
     * built in {@code guestDir} ({@code coffer guest build}).
     */
    public static String unavailableReason(Path guestDir) {
        if (HostProbe.host().command(HostProbe.QEMU).isEmpty()) return "QEMU is not installed (no qemu-system-x86_64 on the PATH; Debian: apt-get install qemu-system-x86)";
        if (!Files.isDirectory(guestDir)) return "the microVM guest is not built (no " + guestDir + "; run 'coffer guest build')";
        return null;
    }

    /**
     * Formats {@code image} (an existing, all-zero file of the volume's size) as a LUKS2 volume with
     * {@code integrity}, keyed by {@code key}, in a microVM of the guest in {@code guestDir};
     * {@code workDir} (created, then removed) holds the VM's run files. {@code accelerator} is
     * "auto", "kvm" or "tcg" (null: COFFER_ACCEL or auto). {@code progress} hears each step.
     */
    public static Result.VolumeFormatted format(Path guestDir, Path workDir, Path image, byte[] key, String integrity,
                                                String accelerator, Consumer<String> progress) throws IOException {
        String missing = unavailableReason(guestDir);
        if (missing != null) throw new SandboxException("cannot format " + image + " in a microVM: " + missing);
        Path groupDir = Files.createDirectories(workDir.resolve("format-" + Long.toHexString(System.nanoTime())));
        String accel = accelerator != null ? accelerator : System.getenv().getOrDefault("COFFER_ACCEL", "auto");
        SandboxBackend.LaunchRequest request = new SandboxBackend.LaunchRequest("volume-format", groupDir, "crun", "allow-all",
                Map.of("COFFER_ACCEL", accel), List.of());
        MicroVmSandboxBackend backend = new MicroVmSandboxBackend(guestDir, BOOT_TIMEOUT);
        progress.accept("booting a microVM of the guest (" + Accelerator.choose(accel).accelerator().qemuName() + ") to format "
                + image.getFileName() + " on its kernel");
        Sandbox vm = backend.launch(request, List.of(new MicroVm.Disk(image.toAbsolutePath(), EncryptedVolume.NEW_DISK_SERIAL, false)),
                List.of());
        try (AgentClient agent = vm.connect()) {
            progress.accept("formatting LUKS2 (integrity " + integrity + ") and ext4 inside the microVM");
            String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(key);
            Result.VolumeFormatted formatted = agent.call(new Request.FormatEncryptedVolume(encoded, integrity),
                    Result.VolumeFormatted.class, FORMAT_TIMEOUT);
            agent.call(new Request.ShutdownSandbox(5000), Result.Done.class);
            return formatted;
        } catch (AgentClient.AgentCallException e) {
            throw new SandboxException("the microVM could not format " + image + ": " + e.getMessage(), e);
        } finally {
            vm.destroy(60_000);
            try {
                BootTest.deleteTree(groupDir);
            } catch (IOException ignored) {
                // run files only (logs, sockets, a sparse scratch disk), nothing secret; an error here must not hide the format's
            }
        }
    }
}
