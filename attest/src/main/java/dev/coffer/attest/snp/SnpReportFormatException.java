package dev.coffer.attest.snp;

/** The bytes are not an SEV-SNP ATTESTATION_REPORT this parser accepts; the message says why. */
public final class SnpReportFormatException extends IllegalArgumentException {
    public SnpReportFormatException(String message) {
        super(message);
    }
}
