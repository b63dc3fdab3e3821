package dev.coffer.attest.measure.snp;

/** One section of OVMF's SEV metadata: guest-physical range and what the VMM puts there. */
public record MetadataSection(long gpa, long size, SectionType type) {
    public long end() {
        return gpa + size;
    }

    boolean overlaps(MetadataSection other) {
        return gpa < other.end() && other.gpa < end();
    }

    @Override
    public String toString() {
        return type + " [0x" + Long.toHexString(gpa) + ", 0x" + Long.toHexString(end()) + ")";
    }
}
