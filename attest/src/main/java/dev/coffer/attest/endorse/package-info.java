/**
 * Guest endorsements in Azure's UVM reference-info format: a COSE_Sign1 document (RFC 9052)
 * whose protected header carries {@code alg}, content type {@code application/json}, the
 * signer's {@code x5chain}, a {@code did:x509} issuer and a feed, and whose JSON payload states
 * a launch measurement ({@code x-ms-sevsnpvm-launchmeasurement}) and guest SVN
 * ({@code x-ms-sevsnpvm-guestsvn}). {@link dev.coffer.attest.endorse.GuestEndorsement} parses,
 * {@link dev.coffer.attest.endorse.EndorsementSigner} writes,
 * {@link dev.coffer.attest.endorse.EndorsementVerifier} appraises against
 * {@link dev.coffer.attest.endorse.TrustedEndorser}s, and
 * {@link dev.coffer.attest.endorse.EndorsementKey} is a Coffer home's own endorser.
 */
package dev.coffer.attest.endorse;
