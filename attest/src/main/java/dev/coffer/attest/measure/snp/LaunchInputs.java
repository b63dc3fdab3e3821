package dev.coffer.attest.measure.snp;

import java.util.Objects;
import java.util.Optional;

/**
 * Everything a QEMU direct-boot launch's digest depends on.
 *
 * @param mode           SEV, SEV-ES or SEV-SNP
 * @param firmware       the OVMF image (its metadata is needed even when its digest is given)
 * @param firmwareDigest SNP only: the launch digest after the firmware's pages, computed earlier
 *                       ({@link LaunchDigestCalculator#firmwareDigest}); the image's pages are then not hashed again
 * @param directBoot     the kernel, initrd and command line QEMU measures, or empty for a firmware-only boot
 * @param vcpus          the number of vCPUs (one VMSA each; SEV has none)
 * @param vcpuSignature  the guest CPU model's signature (QEMU puts it in RDX; EC2 and GCE put their own)
 * @param vmm            the VMM that launches the guest
 * @param guestFeatures  SNP only: the VMSA's SEV_FEATURES (0x1 = SNP active; QEMU's default)
 */
public record LaunchInputs(SevMode mode, OvmfFirmware firmware, Optional<byte[]> firmwareDigest, Optional<DirectBoot> directBoot,
                           int vcpus, VcpuSignature vcpuSignature, VmmType vmm, long guestFeatures) {
    /** SEV_FEATURES bit 0: SNP active; sev-snp-measure's and QEMU's default. */
    public static final long DEFAULT_GUEST_FEATURES = 0x1;
    /** More vCPUs than QEMU supports is a typo, not a launch. */
    public static final int MAX_VCPUS = 4096;

    public LaunchInputs {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(firmware, "firmware");
        Objects.requireNonNull(vmm, "vmm");
        firmwareDigest = firmwareDigest.map(byte[]::clone);
        Objects.requireNonNull(directBoot, "directBoot");
        if (firmwareDigest.isPresent()) {
            if (mode != SevMode.SNP) {
                throw new IllegalArgumentException("a precomputed firmware digest applies to SNP only (SEV and SEV-ES hash the image itself)");
            }
            if (firmwareDigest.get().length != PageInfoChain.DIGEST) {
                throw new IllegalArgumentException("a precomputed firmware digest is 48 bytes (96 hex digits), found "
                        + firmwareDigest.get().length);
            }
        }
        if (mode != SevMode.SEV) {
            if (vcpus < 1 || vcpus > MAX_VCPUS) {
                throw new IllegalArgumentException("vCPU count " + vcpus + " is out of range; expected 1.." + MAX_VCPUS);
            }
            if (vmm == VmmType.QEMU) Objects.requireNonNull(vcpuSignature, "a QEMU launch needs the vCPU signature");
        }
        if (guestFeatures < 0) throw new IllegalArgumentException("guest features must be a 64-bit unsigned value within 0..2^63-1");
    }

    /** SNP with QEMU's defaults: firmware measured page by page, SEV_FEATURES 0x1. */
    public static LaunchInputs snp(OvmfFirmware firmware, Optional<DirectBoot> directBoot, int vcpus, VcpuSignature signature) {
        return new LaunchInputs(SevMode.SNP, firmware, Optional.empty(), directBoot, vcpus, signature, VmmType.QEMU, DEFAULT_GUEST_FEATURES);
    }

    @Override
    public Optional<byte[]> firmwareDigest() {
        return firmwareDigest.map(byte[]::clone);
    }
}
