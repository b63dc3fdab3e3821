package dev.coffer.attest.measure.snp;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Computes the launch digest the AMD secure processor reports as MEASUREMENT for a QEMU (or EC2,
 * GCE) direct-boot launch of OVMF, from the launch's inputs alone, so a verifier can know the
 * reference value before any guest runs.
 *
 * <p>SEV-SNP, in the order the VMM issues SNP_LAUNCH_UPDATE: the firmware's pages (NORMAL), then
 * each SEV metadata section in declaration order (SEC memory as ZERO pages, or UNMEASURED on
 * GCE; the SECRETS page; the CPUID page, which EC2 adds after every other section; the kernel
 * hashes page as a NORMAL page holding the SEV hashes table, or a ZERO page without a kernel;
 * the SVSM CAA as ZERO), then one VMSA page per vCPU (the bootstrap processor at the reset
 * vector, the others at the firmware's AP reset address). SEV-ES hashes the firmware, the hashes
 * table and the VMSAs with SHA-256; SEV the firmware and the hashes table.
 */
public final class LaunchDigestCalculator {
    private LaunchDigestCalculator() {}

    /** The digest alone. */
    public static LaunchDigest compute(LaunchInputs in) {
        return compute(in, false);
    }

    /** The digest, with the page-by-page (SNP) or blob-by-blob (SEV, SEV-ES) log when {@code withSteps}. */
    public static LaunchDigest compute(LaunchInputs in, boolean withSteps) {
        OvmfFirmware fw = in.firmware();
        if (in.directBoot().isPresent() && !fw.supportsKernelHashes() && in.mode() != SevMode.SNP) {
            throw new FirmwareFormatException(noKernelHashes(fw));
        }
        return switch (in.mode()) {
            case SNP -> snp(in, withSteps);
            case SEV_ES, SEV -> sha256Launch(in, withSteps);
        };
    }

    /**
     * The SNP launch digest after the firmware's pages alone, from a zero seed: what
     * {@link LaunchInputs#firmwareDigest()} takes, so a large image is hashed once.
     */
    public static byte[] firmwareDigest(OvmfFirmware fw) {
        PageInfoChain chain = new PageInfoChain(new byte[PageInfoChain.DIGEST], false);
        chain.normalPages(fw.gpa(), fw.image(), 0, fw.size());
        return chain.digest();
    }

    private static LaunchDigest snp(LaunchInputs in, boolean withSteps) {
        OvmfFirmware fw = in.firmware();
        if (in.directBoot().isPresent() && fw.section(SectionType.SNP_KERNEL_HASHES).isEmpty()) {
            throw new FirmwareFormatException("a kernel was given, but the firmware's SEV metadata has no SNP_KERNEL_HASHES section"
                    + " (sections: " + fw.sections() + "), so it cannot check a direct-boot kernel and QEMU cannot measure one;"
                    + " use an OVMF built from OvmfPkg/AmdSev/AmdSevX64.dsc, or measure without --kernel");
        }
        if (fw.sections().isEmpty()) {
            throw new FirmwareFormatException(fw.hasFooterTable()
                    ? "the firmware has no SEV metadata (footer entry " + OvmfFirmware.SEV_METADATA_GUID + "), so it is not built for"
                            + " SEV-SNP: QEMU finds the CPUID and secrets pages there and refuses an SNP launch without it; use an OVMF"
                            + " built from OvmfPkg/AmdSev/AmdSevX64.dsc (or OvmfPkgX64.dsc of edk2 2022 or later)"
                    : noFooter());
        }
        PageInfoChain chain = new PageInfoChain(in.firmwareDigest().orElse(new byte[PageInfoChain.DIGEST]), withSteps);
        if (in.firmwareDigest().isEmpty()) chain.normalPages(fw.gpa(), fw.image(), 0, fw.size());

        for (MetadataSection s : fw.sections()) {
            switch (s.type()) {
                case SNP_SEC_MEMORY -> chain.unmeasuredContents(in.vmm() == VmmType.GCE ? PageType.UNMEASURED : PageType.ZERO, s.gpa(), s.size());
                case SNP_SECRETS -> chain.unmeasuredContents(PageType.SECRETS, s.gpa(), OvmfFirmware.PAGE);
                case CPUID -> {
                    if (in.vmm() != VmmType.EC2) chain.unmeasuredContents(PageType.CPUID, s.gpa(), OvmfFirmware.PAGE);
                }
                case SNP_KERNEL_HASHES -> {
                    if (in.directBoot().isPresent()) {
                        chain.normalPages(s.gpa(), kernelHashesPage(fw, s, in.directBoot().get()), 0, OvmfFirmware.PAGE);
                    } else {
                        chain.unmeasuredContents(PageType.ZERO, s.gpa(), s.size());
                    }
                }
                case SVSM_CAA -> chain.unmeasuredContents(PageType.ZERO, s.gpa(), s.size());
            }
        }
        if (in.vmm() == VmmType.EC2) {
            for (MetadataSection s : fw.sections()) {
                if (s.type() == SectionType.CPUID) chain.unmeasuredContents(PageType.CPUID, s.gpa(), OvmfFirmware.PAGE);
            }
        }
        for (byte[] vmsa : vmsas(in, in.guestFeatures())) chain.vmsaPage(vmsa);
        return new LaunchDigest(SevMode.SNP, chain.digest(), chain.log());
    }

    private static byte[] kernelHashesPage(OvmfFirmware fw, MetadataSection s, DirectBoot boot) {
        long table = fw.hashesTableGpa();
        if (s.size() != OvmfFirmware.PAGE) {
            throw new FirmwareFormatException("the SNP_KERNEL_HASHES section " + s + " is " + s.size() + " bytes; expected one 4096-byte page");
        }
        if (table < s.gpa() || table + DirectBoot.PADDED_TABLE_LENGTH > s.end()) {
            throw new FirmwareFormatException(table == 0 ? noKernelHashes(fw)
                    : "the firmware puts the SEV hashes table at 0x" + Long.toHexString(table) + ", outside its SNP_KERNEL_HASHES section "
                            + s + "; the firmware is inconsistent");
        }
        return boot.page((int) (table - s.gpa()));
    }

    private static LaunchDigest sha256Launch(LaunchInputs in, boolean withSteps) {
        OvmfFirmware fw = in.firmware();
        MessageDigest launch = DirectBoot.sha256();
        List<MeasuredStep> steps = new ArrayList<>();
        measure(launch, steps, withSteps, "firmware", fw.image());
        in.directBoot().ifPresent(b -> measure(launch, steps, withSteps, "sev-hashes-table", b.table()));
        if (in.mode() == SevMode.SEV_ES) {
            // SEV-ES VMSAs carry no SEV_FEATURES: that field came with SNP.
            List<byte[]> vmsas = vmsas(in, 0);
            for (int i = 0; i < vmsas.size(); i++) measure(launch, steps, withSteps, "vmsa-" + i, vmsas.get(i));
        }
        return new LaunchDigest(in.mode(), launch.digest(), steps);
    }

    private static void measure(MessageDigest launch, List<MeasuredStep> steps, boolean withSteps, String what, byte[] blob) {
        launch.update(blob);
        if (withSteps) steps.add(new MeasuredStep.Blob(what, blob.length, DirectBoot.sha256().digest(blob)));
    }

    private static List<byte[]> vmsas(LaunchInputs in, long sevFeatures) {
        OvmfFirmware fw = in.firmware();
        OptionalLong apEip = fw.apResetEip();
        if (apEip.isEmpty()) {
            throw new FirmwareFormatException(fw.hasFooterTable()
                    ? "the firmware has no SEV-ES reset block (footer entry " + OvmfFirmware.SEV_ES_RESET_BLOCK_GUID
                            + "), so its vCPUs' start address is unknown; use an OVMF build with SEV-ES/SNP support"
                    : noFooter());
        }
        if (in.vcpus() > 1 && apEip.getAsLong() == 0) {
            throw new FirmwareFormatException("the firmware's AP reset address is 0, so it starts no application processors;"
                    + " measure with --vcpus 1 or use a firmware built for SMP SEV-ES/SNP guests");
        }
        VcpuSignature sig = in.vcpuSignature() != null ? in.vcpuSignature() : new VcpuSignature(Vmsa.CLOUD_RDX);
        List<byte[]> pages = new ArrayList<>(in.vcpus());
        byte[] bsp = Vmsa.page(Vmsa.BSP_EIP, sevFeatures, sig, in.vmm());
        byte[] ap = in.vcpus() > 1 ? Vmsa.page(apEip.getAsLong(), sevFeatures, sig, in.vmm()) : null;
        for (int i = 0; i < in.vcpus(); i++) pages.add(i == 0 ? bsp : ap);
        return pages;
    }

    private static String noKernelHashes(OvmfFirmware fw) {
        return "a kernel was given, but this firmware does not support measured direct boot: its footer table "
                + (fw.hasFooterTable() ? "gives no SEV hashes table address (entry " + OvmfFirmware.SEV_HASH_TABLE_GUID + ")" : "is missing")
                + "; use an OVMF built from OvmfPkg/AmdSev/AmdSevX64.dsc, or measure without --kernel";
    }

    private static String noFooter() {
        return "the firmware has no OVMF footer table (GUID " + OvmfFirmware.FOOTER_TABLE_GUID + " 50 bytes before its end);"
                + " it is not an OVMF build with SEV support, or the file is truncated or not OVMF.fd";
    }
}
