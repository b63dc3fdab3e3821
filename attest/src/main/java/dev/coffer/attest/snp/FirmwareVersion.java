package dev.coffer.attest.snp;

/** An SNP firmware version (major.minor, build), as reported in CURRENT_* / COMMITTED_*. */
public record FirmwareVersion(int major, int minor, int build) {
    @Override
    public String toString() {
        return major + "." + minor + " build " + build;
    }
}
