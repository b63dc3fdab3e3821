/**
 * Intel PCS collateral over HTTPS, through a disk cache with an offline mode:
 * {@link dev.coffer.attest.pcs.PcsClient}. Nothing fetched is trusted until
 * {@link dev.coffer.attest.dcap.DcapVerifier} checks it against the pinned Intel SGX Root CA.
 */
package dev.coffer.attest.pcs;
