package dev.coffer.attest.snp;

/**
 * How the eight bytes of a TCB_VERSION are laid out. Milan and Genoa: byte 0 boot loader, 1 TEE,
 * 2-5 reserved, 6 SNP, 7 microcode. Turin adds an FMC SPL and moves the others: byte 0 FMC,
 * 1 boot loader, 2 TEE, 3 SNP, 4-6 reserved, 7 microcode.
 */
public enum TcbLayout {
    MILAN_GENOA, TURIN
}
