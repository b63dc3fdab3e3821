/**
 * The AMD SEV-SNP ATTESTATION_REPORT format: {@link dev.coffer.attest.snp.SnpReport#parse(byte[])}
 * decodes all 1184 bytes (versions 2, 3 and 5; TCB fields per product layout), and
 * {@link dev.coffer.attest.snp.SnpReportBuilder} lays one out, for the simulated secure processor.
 */
package dev.coffer.attest.snp;
