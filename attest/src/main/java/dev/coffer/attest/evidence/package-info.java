/**
 * One evidence model for every TEE Coffer attests: {@link dev.coffer.attest.evidence.Evidence} is
 * sealed (SEV-SNP, SGX, TDX, and the simulated TEE), {@link dev.coffer.attest.evidence.EvidenceVerifier}
 * is the one entry point, and {@link dev.coffer.attest.evidence.Claims} the one claims model that
 * appraisal and release policies read. A simulated TEE is its own kind, decided by the chain it
 * verifies to, so it is never mistaken for hardware.
 */
package dev.coffer.attest.evidence;
