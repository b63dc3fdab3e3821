package dev.coffer.runtime.microvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How QEMU runs the guest's CPU: {@code kvm} (hardware virtualization) or {@code tcg} (software
 * emulation). Chosen automatically unless set.
 *
 * <p>Why not simply "kvm when /dev/kvm exists": on PVM hosts ({@code kvm_pvm}, a paravirtual KVM
 * used inside cloud sandboxes) /dev/kvm exists but boots only PVM-patched guest kernels; a stock
 * Debian kernel crawls or hangs there. So kvm is chosen only with a hardware KVM module loaded.
 */
public enum Accelerator {
    KVM("kvm", "host"),
    TCG("tcg", "max");

    private final String qemuName;
    private final String cpu;

    Accelerator(String qemuName, String cpu) {
        this.qemuName = qemuName;
        this.cpu = cpu;
    }

    /** The {@code -accel} value. */
    public String qemuName() {
        return qemuName;
    }

    /** The {@code -cpu} model that goes with it. */
    public String cpu() {
        return cpu;
    }

    /** A decision and the reason for it, for `coffer` to say which it picked and why. */
    public record Choice(Accelerator accelerator, String reason) {}

    /** {@code setting} is "auto", "kvm" or "tcg" (e.g. from COFFER_ACCEL); null means auto. */
    public static Choice choose(String setting) {
        return choose(setting, Path.of("/dev/kvm"), Path.of("/sys/module"));
    }

    static Choice choose(String setting, Path devKvm, Path sysModule) {
        String s = setting == null || setting.isBlank() ? "auto" : setting.toLowerCase(Locale.ROOT);
        switch (s) {
            case "kvm" -> {
                return new Choice(KVM, "accelerator set to kvm");
            }
            case "tcg" -> {
                return new Choice(TCG, "accelerator set to tcg");
            }
            case "auto" -> {
                // handled below
            }
            default -> throw new IllegalArgumentException("expected the accelerator auto, kvm or tcg, found \"" + setting + "\"");
        }
        if (Files.isDirectory(sysModule.resolve("kvm_pvm"))) {
            return new Choice(TCG, "/dev/kvm is PVM (kvm_pvm), which cannot boot a stock kernel: using tcg");
        }
        if (!Files.exists(devKvm)) return new Choice(TCG, "no /dev/kvm: using tcg");
        if (!Files.isReadable(devKvm) || !Files.isWritable(devKvm)) {
            return new Choice(TCG, "/dev/kvm is not accessible to this user: using tcg");
        }
        if (!Files.isDirectory(sysModule.resolve("kvm_intel")) && !Files.isDirectory(sysModule.resolve("kvm_amd"))) {
            return new Choice(TCG, "/dev/kvm exists but neither kvm_intel nor kvm_amd is loaded: using tcg");
        }
        return new Choice(KVM, "hardware KVM available");
    }
}
