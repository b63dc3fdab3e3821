/**
 * Intel DCAP ECDSA attestation: SGX quotes v3 and TDX quotes v4/v5 ({@link dev.coffer.attest.dcap.DcapQuote}),
 * the PCK certificate's SGX extensions ({@link dev.coffer.attest.dcap.PckExtensions}), Intel PCS collateral
 * ({@link dev.coffer.attest.dcap.Collateral}, {@link dev.coffer.attest.dcap.TcbInfo},
 * {@link dev.coffer.attest.dcap.QeIdentity}), the TCB status evaluation of Intel's QVL
 * ({@link dev.coffer.attest.dcap.TcbEvaluator}), and the verifier tying them together
 * ({@link dev.coffer.attest.dcap.DcapVerifier}). The time of verification is always an input.
 */
package dev.coffer.attest.dcap;
