package dev.coffer.runtime.sandbox;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What a user chooses for an SEV-SNP launch beyond the guest itself: the firmware, the virtual
 * CPU model and count, the memory, and optionally an ID block signed by the guest's owner. The
 * vCPU count and model are part of the launch MEASUREMENT (one VMSA per vCPU, its CPUID
 * signature in each), so they are chosen here once and passed unchanged to QEMU and to the
 * measurement calculator.
 *
 * @param firmware  the AmdSev OVMF build, or null to take the first of {@link #WELL_KNOWN_FIRMWARE} present
 * @param cpuType   QEMU's {@code -cpu} model, one of {@link #CPU_TYPES}
 * @param vcpus     virtual CPUs, 1..{@value #MAX_VCPUS}
 * @param memoryMib guest memory in MiB, at least {@value #MIN_MEMORY_MIB}
 * @param idBlock   the 96-byte ID block (SNP firmware ABI, Table "ID_BLOCK"), or null for none
 * @param idAuth    the 4096-byte ID authentication information structure, with {@code idBlock} only
 * @param authorKey whether {@code idAuth} carries an author key as well (QEMU's author-key-enabled)
 */
public record SnpSettings(Path firmware, String cpuType, int vcpus, int memoryMib, byte[] idBlock, byte[] idAuth,
                          boolean authorKey) {
    /**
     * The CPU models QEMU offers an SNP guest and the measurement calculator knows the CPUID
     * signature of (sev-snp-measure's list): a launch with another model could not be measured.
     */
    public static final List<String> CPU_TYPES = List.copyOf(dev.coffer.attest.measure.snp.VcpuSignature.typeNames());
    public static final String DEFAULT_CPU_TYPE = "EPYC-v4";
    public static final int DEFAULT_VCPUS = 1;
    /** More than the microVM's 256 MiB: the firmware, the kernel's bounce buffers (swiotlb) and the agent's JVM share it. */
    public static final int DEFAULT_MEMORY_MIB = 1024;
    public static final int MIN_MEMORY_MIB = 512;
    /** KVM's limit for an SEV-ES/SNP guest's vCPUs here is the APIC ID space QEMU gives q35 without x2APIC tricks. */
    public static final int MAX_VCPUS = 255;
    public static final int ID_BLOCK_BYTES = 96;
    public static final int ID_AUTH_BYTES = 4096;
    /**
     * Where distributions install the AmdSev OVMF build (stateless, with the SEV hashes table):
     * Ubuntu and Debian's ovmf, Fedora's edk2-ovmf, Arch's edk2-ovmf.
     */
    public static final List<Path> WELL_KNOWN_FIRMWARE = List.of(Path.of("/usr/share/ovmf/OVMF.amdsev.fd"),
            Path.of("/usr/share/OVMF/OVMF.amdsev.fd"), Path.of("/usr/share/edk2/ovmf/OVMF.amdsev.fd"),
            Path.of("/usr/share/edk2/x64/OVMF.amdsev.fd"), Path.of("/usr/share/qemu/OVMF.amdsev.fd"));

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9.-]{1,40}");

    public SnpSettings {
        cpuType = cpuType == null ? DEFAULT_CPU_TYPE : cpuType;
        if (!NAME.matcher(cpuType).matches() || !CPU_TYPES.contains(cpuType)) {
            throw new IllegalArgumentException("expected an SNP vCPU type, one of " + String.join(", ", CPU_TYPES) + ", found \""
                    + cpuType + "\"; the launch measurement depends on the type's CPUID signature, so only these are offered");
        }
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("expected 1.." + MAX_VCPUS + " vCPUs for an SNP guest, found " + vcpus);
        }
        if (memoryMib < MIN_MEMORY_MIB) {
            throw new IllegalArgumentException("expected at least " + MIN_MEMORY_MIB + " MiB for an SNP guest (firmware, bounce"
                    + " buffers and the agent share it), found " + memoryMib);
        }
        if (idBlock != null && idBlock.length != ID_BLOCK_BYTES) {
            throw new IllegalArgumentException("expected an ID block of " + ID_BLOCK_BYTES + " bytes, found " + idBlock.length);
        }
        if ((idBlock == null) != (idAuth == null)) {
            throw new IllegalArgumentException("expected an ID block and its ID authentication structure together, found only the "
                    + (idBlock == null ? "authentication structure" : "ID block"));
        }
        if (idAuth != null && idAuth.length != ID_AUTH_BYTES) {
            throw new IllegalArgumentException("expected an ID authentication structure of " + ID_AUTH_BYTES + " bytes, found "
                    + idAuth.length);
        }
        if (authorKey && idAuth == null) {
            throw new IllegalArgumentException("expected an ID block and ID authentication structure with an author key, found none");
        }
        idBlock = idBlock == null ? null : idBlock.clone();
        idAuth = idAuth == null ? null : idAuth.clone();
    }

    /** One vCPU of the default type, the default memory, the firmware from the well-known paths, no ID block. */
    public static SnpSettings defaults() {
        return new SnpSettings(null, DEFAULT_CPU_TYPE, DEFAULT_VCPUS, DEFAULT_MEMORY_MIB, null, null, false);
    }

    @Override
    public byte[] idBlock() {
        return idBlock == null ? null : idBlock.clone();
    }

    @Override
    public byte[] idAuth() {
        return idAuth == null ? null : idAuth.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SnpSettings s && java.util.Objects.equals(firmware, s.firmware) && cpuType.equals(s.cpuType)
                && vcpus == s.vcpus && memoryMib == s.memoryMib && Arrays.equals(idBlock, s.idBlock)
                && Arrays.equals(idAuth, s.idAuth) && authorKey == s.authorKey;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(firmware, cpuType, vcpus, memoryMib, Arrays.hashCode(idBlock), Arrays.hashCode(idAuth), authorKey);
    }

    @Override
    public String toString() {
        return "SnpSettings[firmware=" + firmware + ", cpuType=" + cpuType + ", vcpus=" + vcpus + ", memoryMib=" + memoryMib
                + ", idBlock=" + (idBlock != null) + ", authorKey=" + authorKey + "]";
    }
}
