package dev.coffer.attest.snp;

/** Which key signed the report (bits 4:2 of the word at offset 0x48). */
public enum SigningKey {
    /** Versioned Chip Endorsement Key: per chip and TCB, served by AMD's KDS. */
    VCEK,
    /** Versioned Loaded Endorsement Key: per cloud provider, chained to an ASVK. */
    VLEK,
    /** The report is unsigned (the firmware had no key to use). */
    NONE,
    /** A reserved encoding (2-6): no firmware emits it; a report carrying it is not trustworthy. */
    RESERVED;

    static SigningKey fromBits(int bits) {
        return switch (bits) {
            case 0 -> VCEK;
            case 1 -> VLEK;
            case 7 -> NONE;
            default -> RESERVED;
        };
    }
}
