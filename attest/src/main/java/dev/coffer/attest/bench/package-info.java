/** Throughput measurement of the verifier as the attestation service uses it. */
package dev.coffer.attest.bench;
