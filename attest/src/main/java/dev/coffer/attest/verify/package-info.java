/**
 * Report verification: {@link dev.coffer.attest.verify.SnpVerifier} checks real and simulated
 * evidence with one code path against a {@link dev.coffer.attest.verify.VerifierPolicy} and
 * returns a {@link dev.coffer.attest.verify.Verdict} listing every check with its reason.
 */
package dev.coffer.attest.verify;
