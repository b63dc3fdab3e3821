package dev.coffer.attest.measure.snp;

/**
 * The kinds of guest memory OVMF's SEV metadata asks the VMM to prepare before launch
 * (edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm), with the codes the metadata uses.
 */
public enum SectionType {
    /** Memory the firmware's SEC phase uses: pre-validated zero pages (GCE leaves them unmeasured). */
    SNP_SEC_MEMORY(1),
    /** The secrets page the secure processor fills (VMPCKs); measured as a SECRETS page. */
    SNP_SECRETS(2),
    /** The CPUID page the secure processor checks; measured as a CPUID page. */
    CPUID(3),
    /** The SVSM calling-area page; a zero page. */
    SVSM_CAA(4),
    /** The page holding the SEV hashes table of the direct-boot kernel, initrd and command line. */
    SNP_KERNEL_HASHES(0x10);

    private final int code;

    SectionType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    static SectionType ofCode(int code) {
        for (SectionType t : values()) {
            if (t.code == code) return t;
        }
        return null;
    }
}
