/**
 * AMD's endorsement certificates: VCEK/VLEK with AMD's X.509 extensions
 * ({@link dev.coffer.attest.cert.AmdCertificate}), RSASSA-PSS chain signatures, ECDSA P-384 in
 * the report's encoding, the pinned ARKs ({@link dev.coffer.attest.cert.AmdRoots}) and CRLs.
 */
package dev.coffer.attest.cert;
