package dev.coffer.runtime.microvm;

import dev.coffer.runtime.sandbox.SnpSettings;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The QEMU command line of an SEV-SNP launch of the guest: a pure function of {@link Inputs}, so
 * what a launch passes (kernel, initramfs, command line, vCPU count and type, firmware) is what
 * the launch measurement is computed from, and golden files pin it.
 *
 * <p>The machine: q35 with {@code confidential-guest-support} naming a {@code sev-snp-guest}
 * object (the host's C-bit position and reduced physical address bits; the guest policy;
 * {@code kernel-hashes=on}, so QEMU puts SHA-256 of kernel, initramfs and command line into the
 * firmware's measured SEV hashes table, and OVMF boots only what matches; {@code host-data} =
 * SHA-256 of the policy, which every report carries as HOST_DATA; an optional ID block), guest
 * memory from {@code memory-backend-memfd} (private pages come from KVM's guest_memfd, shared
 * ones from this backend), the AmdSev OVMF as {@code -bios}, and KVM: there is no SNP without it.
 * The devices are those of every Coffer VM ({@link MicroVm#devices}), on PCI.
 */
public final class SnpLaunch {
    /**
     * The guest policy: bit 17 is reserved and must be one, bit 16 allows SMT, bit 19 (debug)
     * stays clear so the host can never decrypt the guest, ABI 0.0 accepts any firmware.
     */
    public static final long GUEST_POLICY = 0x30000L;
    static final long POLICY_RESERVED_ONE = 1L << 17;
    static final long POLICY_DEBUG = 1L << 19;

    /**
     * Everything the command line depends on.
     *
     * @param vm              the guest, run directory, command line, disks and network ({@link MicroVm.Config});
     *                        its memory and accelerator are not used: {@code settings} sizes the guest, SNP is KVM
     * @param settings        firmware (resolved: not null), vCPU type and count, memory, ID block
     * @param cbitPosition    CPUID 0x8000001F EBX[5:0] of the host
     * @param reducedPhysBits CPUID 0x8000001F EBX[11:6] of the host
     * @param hostData        the 32 bytes of HOST_DATA: SHA-256 of the policy (zeros for allow-all)
     * @param policy          the guest policy, {@link #GUEST_POLICY}
     */
    public record Inputs(MicroVm.Config vm, SnpSettings settings, int cbitPosition, int reducedPhysBits, byte[] hostData,
                         long policy) {
        public Inputs {
            if (settings.firmware() == null) {
                throw new IllegalArgumentException("expected the firmware of an SNP launch resolved to a file, found none");
            }
            if (cbitPosition < 32 || cbitPosition > 63) {
                throw new IllegalArgumentException("expected a C-bit position of 32..63 from CPUID 0x8000001f, found " + cbitPosition);
            }
            if (reducedPhysBits < 1 || reducedPhysBits > 63) {
                throw new IllegalArgumentException("expected reduced-phys-bits of 1..63 from CPUID 0x8000001f, found " + reducedPhysBits);
            }
            if (hostData == null || hostData.length != 32) {
                throw new IllegalArgumentException("expected 32 bytes of HOST_DATA, found " + (hostData == null ? "none" : hostData.length));
            }
            if ((policy & POLICY_RESERVED_ONE) == 0 || (policy & POLICY_DEBUG) != 0 || policy < 0 || policy > 0xffffffffL) {
                throw new IllegalArgumentException(String.format("expected an SNP guest policy with bit 17 set and debug (bit 19)"
                        + " clear, found 0x%x", policy));
            }
            for (Path p : List.of(settings.firmware(), vm.guest().bzImage(), vm.guest().initrd())) {
                // the value goes into a QEMU option list: a comma would start another option
                if (p.toString().contains(",")) {
                    throw new IllegalArgumentException("expected a path without commas for QEMU, found " + p);
                }
            }
            hostData = hostData.clone();
        }

        @Override
        public byte[] hostData() {
            return hostData.clone();
        }
    }

    /**
     * What of a launch the secure processor measures, as the launch passes it: the firmware, the
     * kernel, initramfs and command line (through the SEV hashes table), the number of vCPUs and
     * their type (one VMSA each, with the type's CPUID signature), and the VMSA's SEV_FEATURES.
     * The command line is built from this record and a launch-measurement calculator is to be fed
     * from it, so the two cannot disagree.
     *
     * @param guestFeatures SEV_FEATURES of every VMSA: 0x1, SNP active alone, which is what QEMU
     *                      (>= 9.1, KVM_SEV_INIT2 without extra VMSA features) starts a guest with
     * @param vmmType       the VMM whose VMSA layout the measurement assumes: "qemu"
     */
    public record Measured(Path firmware, Path kernel, Path initrd, String cmdline, int vcpus, String cpuType, long guestFeatures,
                           String vmmType) {}

    /** SEV_FEATURES of the launch's VMSAs: SNP active (bit 0) alone. */
    public static final long GUEST_FEATURES = 0x1L;

    /** What a launch of {@code guest} with {@code settings} (firmware resolved) measures. */
    public static Measured measured(dev.coffer.runtime.guest.GuestImage guest, SnpSettings settings) {
        if (settings.firmware() == null) {
            throw new IllegalArgumentException("expected the firmware of an SNP launch resolved to a file, found none");
        }
        return new Measured(settings.firmware(), guest.bzImage(), guest.initrd(), guest.cmdline(), settings.vcpus(),
                settings.cpuType(), GUEST_FEATURES, "qemu");
    }

    /**
     * The MEASUREMENT the secure processor computes for a launch of {@code guest} with
     * {@code settings}: attest's launch-digest calculator over exactly what {@link #measured}
     * declares and the command line passes (firmware, bzImage, initramfs, command line, vCPUs and
     * their type, SEV_FEATURES, QEMU's VMSA layout). {@code settings.firmware()} must be resolved.
     */
    public static byte[] launchMeasurement(dev.coffer.runtime.guest.GuestImage guest, SnpSettings settings) throws java.io.IOException {
        Measured m = measured(guest, settings);
        dev.coffer.attest.measure.snp.OvmfFirmware firmware = dev.coffer.attest.measure.snp.OvmfFirmware.read(m.firmware());
        var boot = dev.coffer.attest.measure.snp.DirectBoot.ofFiles(m.kernel(), m.initrd(), m.cmdline());
        var inputs = new dev.coffer.attest.measure.snp.LaunchInputs(dev.coffer.attest.measure.snp.SevMode.SNP, firmware,
                java.util.Optional.empty(), java.util.Optional.of(boot), m.vcpus(),
                dev.coffer.attest.measure.snp.VcpuSignature.ofType(m.cpuType()), dev.coffer.attest.measure.snp.VmmType.QEMU,
                m.guestFeatures());
        return dev.coffer.attest.measure.snp.LaunchDigestCalculator.compute(inputs).measurement();
    }

    private SnpLaunch() {}

    /** The command line; {@code detached}: QEMU daemonizes and writes the console to a file. */
    public static List<String> qemuCommand(Inputs in, boolean detached) {
        MicroVm.Config c = in.vm();
        SnpSettings s = in.settings();
        Base64.Encoder b64 = Base64.getEncoder();
        StringBuilder snp = new StringBuilder("sev-snp-guest,id=sev0")
                .append(",cbitpos=").append(in.cbitPosition())
                .append(",reduced-phys-bits=").append(in.reducedPhysBits())
                .append(",policy=0x").append(Long.toHexString(in.policy()))
                .append(",kernel-hashes=on")
                .append(",host-data=").append(b64.encodeToString(in.hostData()));
        if (s.idBlock() != null) {
            // base64 has no comma: the blobs cannot add options
            snp.append(",id-block=").append(b64.encodeToString(s.idBlock()))
                    .append(",id-auth=").append(b64.encodeToString(s.idAuth()));
            if (s.authorKey()) snp.append(",author-key-enabled=on");
        }
        String memory = s.memoryMib() + "M";
        Measured m = measured(c.guest(), s);
        if (!m.cmdline().equals(c.cmdline())) {
            throw new IllegalArgumentException("expected the guest's measured command line for an SNP launch, found another;"
                    + " the SEV hashes table would not match what the guest's endorsement names");
        }
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64",
                "-machine", "q35,confidential-guest-support=sev0,memory-backend=ram0,vmport=off",
                "-enable-kvm", "-cpu", m.cpuType(),
                "-smp", m.vcpus() + ",maxcpus=" + m.vcpus(),
                "-m", memory,
                "-object", "memory-backend-memfd,id=ram0,size=" + memory + ",share=true,prealloc=false",
                "-object", snp.toString(),
                "-bios", m.firmware().toString(),
                "-nodefaults", "-no-user-config", "-no-reboot",
                "-kernel", m.kernel().toString(), "-initrd", m.initrd().toString(),
                "-append", m.cmdline()));
        cmd.addAll(MicroVm.devices(c, MicroVm.Transport.PCI, detached));
        return cmd;
    }
}
