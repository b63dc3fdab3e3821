package dev.coffer.attest.measure.snp;

/**
 * PAGE_TYPE of SNP_LAUNCH_UPDATE (SEV-SNP ABI specification, PAGE_INFO): how a page enters the
 * launch digest. Only NORMAL and VMSA pages contribute their contents' SHA-384; the others
 * contribute 48 zero bytes in its place.
 */
public enum PageType {
    NORMAL(0x01),
    VMSA(0x02),
    ZERO(0x03),
    UNMEASURED(0x04),
    SECRETS(0x05),
    CPUID(0x06);

    private final int code;

    PageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
