package dev.coffer.attest.snp;

/**
 * The guest policy the hypervisor launched the guest with (report offset 0x08), decoded per the
 * SEV-SNP ABI: bits 0-7 ABI minor, 8-15 ABI major, 16 SMT allowed, 17 reserved (must be 1),
 * 18 migration agent allowed, 19 debug allowed, 20 single socket, 21 CXL allowed,
 * 22 AES-256-XTS required, 23 RAPL disabled, 24 ciphertext hiding, 25 page swap disabled.
 */
public record GuestPolicy(long raw) {
    public int abiMinor() { return (int) (raw & 0xFF); }
    public int abiMajor() { return (int) ((raw >>> 8) & 0xFF); }
    public boolean smt() { return bit(16); }
    public boolean reservedOne() { return bit(17); }
    public boolean migrationAgent() { return bit(18); }
    public boolean debug() { return bit(19); }
    public boolean singleSocket() { return bit(20); }
    public boolean cxlAllowed() { return bit(21); }
    public boolean memAes256Xts() { return bit(22); }
    public boolean raplDisabled() { return bit(23); }
    public boolean ciphertextHiding() { return bit(24); }
    public boolean pageSwapDisabled() { return bit(25); }

    private boolean bit(int n) {
        return (raw & (1L << n)) != 0;
    }

    @Override
    public String toString() {
        return String.format("0x%x (abi %d.%d, smt=%b, migrate_ma=%b, debug=%b, single_socket=%b)",
                raw, abiMajor(), abiMinor(), smt(), migrationAgent(), debug(), singleSocket());
    }
}
