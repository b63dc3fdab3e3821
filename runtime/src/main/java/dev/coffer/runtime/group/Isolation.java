package dev.coffer.runtime.group;

import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.microvm.Accelerator;
import dev.coffer.runtime.microvm.MicroVmSandboxBackend;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resolves {@code --isolation auto|process|microvm} to a backend, with the reason, so the CLI
 * can say which sandbox it picked. Auto prefers the microVM when it can run well here: a built
 * guest and hardware KVM. Under software emulation (TCG) a microVM works but is an order of
 * magnitude slower, so auto does not pick it; {@code --isolation microvm} still does.
 */
public final class Isolation {
    public static final String AUTO = "auto";

    private Isolation() {}

    public record Choice(String backend, String reason) {}

    /** @throws IllegalArgumentException for a name that is neither auto nor a registered backend */
    public static Choice choose(String requested, Path cofferHome) {
        if (!AUTO.equals(requested)) {
            if (!SandboxBackends.names().contains(requested)) {
                throw new IllegalArgumentException("expected --isolation " + AUTO + ", " + String.join(" or ", SandboxBackends.names())
                        + ", found \"" + requested + "\"");
            }
            return new Choice(requested, "requested");
        }
        Path guest = cofferHome.resolve("guest");
        if (!Files.isRegularFile(guest.resolve(GuestImage.MANIFEST))) {
            return new Choice(ProcessSandboxBackend.NAME, "auto: no guest built (`coffer guest build` enables microvm)");
        }
        Accelerator.Choice accel = Accelerator.choose(System.getenv("COFFER_ACCEL"));
        if (accel.accelerator() != Accelerator.KVM) {
            return new Choice(ProcessSandboxBackend.NAME, "auto: microvm would run under software emulation here ("
                    + accel.reason() + "); pass --isolation microvm to use it anyway");
        }
        return new Choice(MicroVmSandboxBackend.NAME, "auto: guest built and " + accel.reason());
    }

    /**
     * Why a group in {@code backend} cannot have encrypted scratch on this host, or null when it
     * can: what the group's sandbox will answer once launched, asked before, by tools that write
     * a spec (and so its policy) for a run, such as the demo. A microVM always can (its guest
     * encrypts its scratch disk); the process sandbox only where the host has device-mapper.
     */
    public static String encryptedScratchUnavailable(String backend) {
        return ProcessSandboxBackend.NAME.equals(backend) ? dev.coffer.agent.volume.ScratchVolume.fileUnavailableReason() : null;
    }
}
