package dev.coffer.attest.snp;

/**
 * PLATFORM_INFO (report offset 0x40): bit 0 SMT enabled, 1 TSME enabled, 2 ECC memory,
 * 3 RAPL disabled, 4 ciphertext hiding enabled, 5 alias check complete.
 */
public record PlatformInfo(long raw) {
    public boolean smtEnabled() { return (raw & 1) != 0; }
    public boolean tsmeEnabled() { return (raw & 2) != 0; }
    public boolean eccEnabled() { return (raw & 4) != 0; }
    public boolean raplDisabled() { return (raw & 8) != 0; }
    public boolean ciphertextHidingEnabled() { return (raw & 16) != 0; }
    public boolean aliasCheckComplete() { return (raw & 32) != 0; }

    @Override
    public String toString() {
        return String.format("0x%x (smt=%b, tsme=%b, ecc=%b)", raw, smtEnabled(), tsmeEnabled(), eccEnabled());
    }
}
