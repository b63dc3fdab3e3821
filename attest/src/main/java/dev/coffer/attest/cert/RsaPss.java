package dev.coffer.attest.cert;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.engines.RSABlindedEngine;
import org.bouncycastle.crypto.params.RSAKeyParameters;
import org.bouncycastle.crypto.signers.PSSSigner;

import java.util.Optional;

/**
 * Certificate signatures in AMD's chains: RSASSA-PSS with SHA-384, MGF1-SHA-384. Verified with
 * Bouncy Castle's lightweight API over the TBSCertificate bytes exactly as encoded.
 */
public final class RsaPss {
    private RsaPss() {}

    /** Empty when {@code issuer}'s key made {@code subject}'s signature; otherwise why not. */
    public static Optional<String> checkSignedBy(AmdCertificate subject, AmdCertificate issuer) {
        return check(subject.subjectCn(), subject.asn1().getSignatureAlgorithm(), subject.tbsBytes(),
                subject.asn1().getSignature().getOctets(), issuer);
    }

    /** The same check for a CRL (AMD's CRLs are signed by the ARK with the same parameters). */
    public static Optional<String> checkSignedBy(RevocationList crl, AmdCertificate issuer) {
        return check("CRL of " + crl.issuerCn(), crl.asn1().getSignatureAlgorithm(), crl.tbsBytes(),
                crl.asn1().getSignature().getOctets(), issuer);
    }

    private static Optional<String> check(String what, AlgorithmIdentifier alg, byte[] tbs, byte[] sig, AmdCertificate issuer) {
        if (!PKCSObjectIdentifiers.id_RSASSA_PSS.equals(alg.getAlgorithm())) {
            return Optional.of(what + " is signed with " + alg.getAlgorithm()
                    + ", expected RSASSA-PSS (1.2.840.113549.1.1.10)");
        }
        RSASSAPSSparams params = RSASSAPSSparams.getInstance(alg.getParameters());
        ASN1ObjectIdentifier hash = params.getHashAlgorithm().getAlgorithm();
        AlgorithmIdentifier mgf = params.getMaskGenAlgorithm();
        ASN1ObjectIdentifier mgfHash = AlgorithmIdentifier.getInstance(mgf.getParameters()).getAlgorithm();
        if (!NISTObjectIdentifiers.id_sha384.equals(hash) || !PKCSObjectIdentifiers.id_mgf1.equals(mgf.getAlgorithm())
                || !NISTObjectIdentifiers.id_sha384.equals(mgfHash)) {
            return Optional.of(what + " uses RSASSA-PSS with hash " + hash + " and MGF " + mgfHash
                    + ", expected SHA-384 with MGF1-SHA-384");
        }
        int salt = params.getSaltLength().intValueExact();
        RSAKeyParameters key;
        try {
            if (!PKCSObjectIdentifiers.rsaEncryption.equals(issuer.publicKeyInfo().getAlgorithm().getAlgorithm())
                    && !PKCSObjectIdentifiers.id_RSASSA_PSS.equals(issuer.publicKeyInfo().getAlgorithm().getAlgorithm())) {
                return Optional.of("issuer " + issuer.subjectCn() + " does not hold an RSA key");
            }
            RSAPublicKey rsa = RSAPublicKey.getInstance(issuer.publicKeyInfo().parsePublicKey());
            key = new RSAKeyParameters(false, rsa.getModulus(), rsa.getPublicExponent());
        } catch (Exception e) {
            return Optional.of("issuer " + issuer.subjectCn() + " has an unreadable RSA key (" + e.getMessage() + ")");
        }
        PSSSigner signer = new PSSSigner(new RSABlindedEngine(), new SHA384Digest(), new SHA384Digest(), salt);
        signer.init(false, key);
        signer.update(tbs, 0, tbs.length);
        return signer.verifySignature(sig) ? Optional.empty()
                : Optional.of("signature of " + what + " does not verify with the key of " + issuer.subjectCn());
    }
}
