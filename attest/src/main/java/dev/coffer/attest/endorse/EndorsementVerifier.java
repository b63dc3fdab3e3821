package dev.coffer.attest.endorse;

import dev.coffer.attest.verify.CheckResult;

import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;

/**
 * Appraises a guest endorsement against a report's launch measurement, as MAA does before it
 * says {@code x-ms-compliance-status}. Every check runs (none short-circuits the others), so a
 * refusal lists each reason; the endorsement counts only when all pass.
 */
public final class EndorsementVerifier {
    public static final String CHAIN = "chain", DID_X509 = "did_x509", SIGNATURE = "signature", ISSUER_FEED = "issuer_feed",
            MEASUREMENT = "measurement", GUEST_SVN = "guest_svn";
    /** The checks, in the order they are reported. */
    public static final List<String> CHECKS = List.of(CHAIN, DID_X509, SIGNATURE, ISSUER_FEED, MEASUREMENT, GUEST_SVN);

    /** MAA's value for a utility VM endorsed by Microsoft's UVM signer. */
    public static final String AZURE_COMPLIANT_UVM = "azure-compliant-uvm";
    /** Coffer's value for a guest endorsed by any other trusted endorser. */
    public static final String COFFER_COMPLIANT_GUEST = "coffer-compliant-guest";

    private EndorsementVerifier() {}

    public static EndorsementVerdict verify(GuestEndorsement e, String reportMeasurementHex, Instant at, List<TrustedEndorser> trusted) {
        List<CheckResult> checks = new ArrayList<>(CHECKS.size());
        checks.add(chain(e.chain(), at));
        checks.add(didX509(e));
        checks.add(signature(e));

        TrustedEndorser matched = null;
        for (TrustedEndorser t : trusted) {
            if (t.matches(e.issuer(), e.feed())) {
                matched = t;
                break;
            }
        }
        checks.add(matched != null
                ? pass(ISSUER_FEED, "issuer " + e.issuer() + " and feed " + e.feed() + " are trusted")
                : fail(ISSUER_FEED, "issuer " + e.issuer() + " with feed " + e.feed() + " is not a trusted endorser ("
                        + (trusted.isEmpty() ? "none configured" : trusted.size() + " configured") + "); trust it with --trust-endorser DID[,FEED] if it should be"));

        String reportMeasurement;
        try {
            reportMeasurement = GuestEndorsement.normalizeMeasurement(reportMeasurementHex, "the report's measurement");
        } catch (EndorsementFormatException x) {
            reportMeasurement = null;
        }
        checks.add(reportMeasurement != null && reportMeasurement.equals(e.launchMeasurement())
                ? pass(MEASUREMENT, "endorsed measurement equals the report's " + e.launchMeasurement())
                : fail(MEASUREMENT, "the endorsement is for measurement " + e.launchMeasurement() + ", the report's is " + reportMeasurementHex));

        if (matched == null) {
            checks.add(fail(GUEST_SVN, "guest SVN " + e.guestSvn() + " cannot be appraised: no trusted endorser matched"));
        } else if (e.guestSvn() < matched.minimumGuestSvn()) {
            checks.add(fail(GUEST_SVN, "guest SVN " + e.guestSvn() + " is below the minimum " + matched.minimumGuestSvn() + " for " + matched.did()));
        } else {
            checks.add(pass(GUEST_SVN, "guest SVN " + e.guestSvn() + " ≥ minimum " + matched.minimumGuestSvn()));
        }

        boolean endorsed = checks.stream().noneMatch(CheckResult::failed);
        String status = !endorsed ? null : matched.isMicrosoftUvm() ? AZURE_COMPLIANT_UVM : COFFER_COMPLIANT_GUEST;
        return new EndorsementVerdict(endorsed, checks, status, matched, e);
    }

    /**
     * Links (each certificate's issuer is the next one's subject and its signature verifies
     * with the next one's key), CA basic constraints on every issuing certificate, a self-signed
     * last certificate checked too, and validity of every certificate at {@code at}.
     */
    static CheckResult chain(List<X509Certificate> chain, Instant at) {
        if (chain.size() < 2) return fail(CHAIN, "the x5chain has " + chain.size() + " certificate; expected the signing leaf followed by its CA certificate(s)");
        Date when = Date.from(at);
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate c = chain.get(i);
            String name = "certificate " + i + " (" + c.getSubjectX500Principal().getName() + ")";
            try {
                c.checkValidity(when);
            } catch (CertificateExpiredException x) {
                return fail(CHAIN, name + " expired at " + c.getNotAfter().toInstant() + ", before " + at);
            } catch (CertificateNotYetValidException x) {
                return fail(CHAIN, name + " is not valid before " + c.getNotBefore().toInstant() + ", after " + at);
            }
            if (i > 0 && c.getBasicConstraints() < 0) return fail(CHAIN, name + " issues certificates in the chain but is not a CA (basic constraints)");
            X509Certificate issuer;
            if (i < chain.size() - 1) {
                issuer = chain.get(i + 1);
                if (!c.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
                    return fail(CHAIN, name + " is issued by " + c.getIssuerX500Principal().getName() + ", but the next certificate is "
                            + issuer.getSubjectX500Principal().getName() + "; expected the leaf first, each certificate followed by its issuer");
                }
            } else if (c.getIssuerX500Principal().equals(c.getSubjectX500Principal())) {
                issuer = c;
            } else {
                // The chain may stop below its root: the did:x509 fingerprint anchors trust, so there is nothing further to link.
                continue;
            }
            Optional<String> bad = linkSignature(c, issuer);
            if (bad.isPresent()) {
                return fail(CHAIN, name + "'s signature does not verify with the key of " + issuer.getSubjectX500Principal().getName() + " (" + bad.get() + ")");
            }
        }
        return pass(CHAIN, chain.size() + " certificates linked and valid at " + at);
    }

    /**
     * Certificate links already verified, keyed by the digest of the certificate and of its
     * issuer: a service appraising the same endorser's documents pays for the chain's signatures
     * once. Validity dates are still checked on every call.
     */
    static final VerifiedDigests VERIFIED_LINKS = new VerifiedDigests(4096);
    /**
     * COSE signatures already verified, keyed by the digest of the algorithm, the leaf's key,
     * the exact Sig_structure and the signature: the same endorsement presented with every
     * attestation (as guests do) is verified once. Everything else (chain validity at the
     * request's time, did:x509, trusted issuer and feed, measurement, SVN) is checked per call.
     */
    static final VerifiedDigests VERIFIED_SIGNATURES = new VerifiedDigests(4096);

    private static Optional<String> linkSignature(X509Certificate cert, X509Certificate issuer) {
        byte[] key;
        try {
            key = VerifiedDigests.of(cert.getEncoded(), issuer.getEncoded());
        } catch (GeneralSecurityException x) {
            return Optional.of(x.getMessage());
        }
        if (VERIFIED_LINKS.contains(key)) return Optional.empty();
        try {
            cert.verify(issuer.getPublicKey());
        } catch (GeneralSecurityException | RuntimeException x) {
            return Optional.of(String.valueOf(x.getMessage()));
        }
        VERIFIED_LINKS.add(key);
        return Optional.empty();
    }

    /**
     * did:x509 issuers already resolved against a chain, keyed by the digest of the issuer and
     * every certificate's encoding: the resolution reads nothing else (no dates), so a repeat of
     * exactly those bytes resolves the same way.
     */
    static final VerifiedDigests RESOLVED_ISSUERS = new VerifiedDigests(4096);

    static CheckResult didX509(GuestEndorsement e) {
        byte[] resolved = issuerDigest(e);
        if (resolved != null && RESOLVED_ISSUERS.contains(resolved)) return pass(DID_X509, "issuer resolves against the x5chain");
        DidX509 did;
        try {
            did = DidX509.parse(e.issuer());
        } catch (EndorsementFormatException x) {
            return fail(DID_X509, x.getMessage());
        }
        Optional<String> mismatch = did.mismatch(e.chain());
        if (mismatch.isPresent()) return fail(DID_X509, "issuer " + e.issuer() + " does not resolve against the x5chain: " + mismatch.get());
        if (resolved != null) RESOLVED_ISSUERS.add(resolved);
        return pass(DID_X509, "issuer resolves against the x5chain");
    }

    /** What {@link #RESOLVED_ISSUERS} remembers of a resolution: the issuer and the chain, exactly; null if a certificate cannot be encoded. */
    static byte[] issuerDigest(GuestEndorsement e) {
        byte[][] parts = new byte[e.chain().size() + 1][];
        parts[0] = e.issuer().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try {
            for (int i = 0; i < e.chain().size(); i++) parts[i + 1] = e.chain().get(i).getEncoded();
        } catch (java.security.cert.CertificateEncodingException x) {
            return null;
        }
        return VerifiedDigests.of(parts);
    }

    static CheckResult signature(GuestEndorsement e) {
        X509Certificate leaf = e.leaf();
        CoseAlgorithm alg = e.algorithm();
        if (!leaf.getPublicKey().getAlgorithm().equals(alg.keyAlgorithm())) {
            return fail(SIGNATURE, "alg " + alg + " needs an " + alg.keyAlgorithm() + " key, but the leaf's key is " + leaf.getPublicKey().getAlgorithm());
        }
        if (alg.isEcdsa() && leaf.getPublicKey() instanceof java.security.interfaces.ECPublicKey ec
                && ec.getParams().getCurve().getField().getFieldSize() != alg.ecdsaSignatureLength() * 4) {
            return fail(SIGNATURE, "alg " + alg + " needs a key on its own curve, but the leaf's key is on a "
                    + ec.getParams().getCurve().getField().getFieldSize() + "-bit curve");
        }
        if (alg.isEcdsa() && e.signature().length != alg.ecdsaSignatureLength()) {
            return fail(SIGNATURE, "an " + alg + " signature is " + alg.ecdsaSignatureLength() + " bytes (r||s), found " + e.signature().length);
        }
        boolean[] keyUsage = leaf.getKeyUsage();
        if (keyUsage != null && !keyUsage[0]) return fail(SIGNATURE, "the leaf certificate's key usage does not allow digital signatures");
        try {
            byte[] toBeSigned = EndorsementSigner.sigStructure(e.protectedHeader(), e.payload());
            byte[] checked = signatureDigest(e, toBeSigned);
            if (VERIFIED_SIGNATURES.contains(checked)) return pass(SIGNATURE, alg + " signature by the x5chain leaf verifies");
            boolean ok;
            if (alg == CoseAlgorithm.ES384) {
                ok = es384(leaf, toBeSigned, e.signature());
            } else {
                Signature s = alg.newSignature();
                s.initVerify(leaf.getPublicKey());
                s.update(toBeSigned);
                ok = s.verify(e.signature());
            }
            if (ok) VERIFIED_SIGNATURES.add(checked);
            return ok
                    ? pass(SIGNATURE, alg + " signature by the x5chain leaf verifies")
                    : fail(SIGNATURE, alg + " signature does not verify with the x5chain leaf's key: the protected header, payload or signature was altered");
        } catch (GeneralSecurityException | RuntimeException x) {
            return fail(SIGNATURE, alg + " signature cannot be verified with the leaf's key (" + x.getMessage() + ")");
        }
    }

    /** What {@link #VERIFIED_SIGNATURES} remembers of a signature check: every input it reads. */
    static byte[] signatureDigest(GuestEndorsement e, byte[] toBeSigned) {
        return VerifiedDigests.of(e.algorithm().name().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                e.leaf().getPublicKey().getEncoded(), toBeSigned, e.signature());
    }

    /** Decoded leaf keys by SHA-256 of their encoding: one object per key lets BC keep its precomputed multiples of the point. */
    private static final java.util.Map<String, org.bouncycastle.crypto.params.ECPublicKeyParameters> ES384_KEYS = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int ES384_KEYS_LIMIT = 4096;

    private static byte[] sha256(byte[] data) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(data);
        } catch (java.security.NoSuchAlgorithmException x) {
            throw new IllegalStateException(x);
        }
    }

    /**
     * ES384 with Bouncy Castle's specialised secp384r1 arithmetic, as the SNP report verifier does:
     * the JDK's generic P-384 takes several milliseconds of CPU per verification, BC a fraction.
     */
    private static boolean es384(X509Certificate leaf, byte[] message, byte[] rs) {
        byte[] encodedKey = leaf.getPublicKey().getEncoded();
        String id = java.util.HexFormat.of().formatHex(sha256(encodedKey));
        var key = ES384_KEYS.get(id);
        if (key == null) {
            var spki = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(encodedKey);
            if (!org.bouncycastle.asn1.sec.SECObjectIdentifiers.secp384r1.equals(spki.getAlgorithm().getParameters())) return false;
            var domain = dev.coffer.attest.cert.EcdsaP384.DOMAIN;
            key = new org.bouncycastle.crypto.params.ECPublicKeyParameters(domain.getCurve().decodePoint(spki.getPublicKeyData().getOctets()), domain);
            if (ES384_KEYS.size() >= ES384_KEYS_LIMIT) ES384_KEYS.clear();
            ES384_KEYS.put(id, key);
        }
        var digest = new org.bouncycastle.crypto.digests.SHA384Digest();
        digest.update(message, 0, message.length);
        byte[] hash = new byte[48];
        digest.doFinal(hash, 0);
        var signer = new org.bouncycastle.crypto.signers.ECDSASigner();
        signer.init(false, key);
        return signer.verifySignature(hash, new java.math.BigInteger(1, java.util.Arrays.copyOfRange(rs, 0, 48)),
                new java.math.BigInteger(1, java.util.Arrays.copyOfRange(rs, 48, 96)));
    }

    private static CheckResult pass(String name, String detail) {
        return new CheckResult(name, CheckResult.Status.PASS, detail);
    }

    private static CheckResult fail(String name, String detail) {
        return new CheckResult(name, CheckResult.Status.FAIL, detail);
    }
}
