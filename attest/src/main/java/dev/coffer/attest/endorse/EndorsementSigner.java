package dev.coffer.attest.endorse;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.util.List;

/**
 * Writes guest endorsements in Azure's UVM reference-info format: COSE_Sign1 (tag 18) with the
 * protected header {1: alg, 3: "application/json", 33: [leaf, ..., root], "iss": did, "feed": feed},
 * an empty unprotected header, and the JSON payload
 * {@code {"x-ms-sevsnpvm-guestsvn":"<svn>","x-ms-sevsnpvm-launchmeasurement":"<hex>"}}.
 */
public final class EndorsementSigner {
    private EndorsementSigner() {}

    /**
     * Signs an endorsement of {@code measurementHex} at {@code guestSvn}. The algorithm follows
     * the key: ES384 for EC P-384, ES256 for EC P-256, PS384 for RSA. Throws
     * {@link IllegalArgumentException} when an input is malformed or the key is not the leaf's.
     */
    public static byte[] sign(String measurementHex, long guestSvn, String feed, PrivateKey key,
                              List<X509Certificate> chainLeafFirst, String issuerDid) {
        String measurement;
        try {
            measurement = GuestEndorsement.normalizeMeasurement(measurementHex, "the measurement to endorse");
            DidX509.parse(issuerDid);
        } catch (EndorsementFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (guestSvn < 0) throw new IllegalArgumentException("the guest SVN is " + guestSvn + "; expected a non-negative number");
        if (feed == null || feed.isBlank()) throw new IllegalArgumentException("the feed is empty; expected a name such as ContainerPlat-AMD-UVM or coffer-guest");
        if (chainLeafFirst.isEmpty()) throw new IllegalArgumentException("the certificate chain is empty; expected the signing certificate first");
        if (chainLeafFirst.size() > GuestEndorsement.MAX_CHAIN_CERTIFICATES) {
            throw new IllegalArgumentException("the chain has " + chainLeafFirst.size() + " certificates; at most " + GuestEndorsement.MAX_CHAIN_CERTIFICATES + " are accepted by verifiers");
        }
        CoseAlgorithm alg = algorithmFor(key);

        Cbor.Writer header = new Cbor.Writer().map(5);
        header.integer(GuestEndorsement.LABEL_ALG).integer(alg.label());
        header.integer(GuestEndorsement.LABEL_CONTENT_TYPE).text(GuestEndorsement.CONTENT_TYPE_JSON);
        header.integer(GuestEndorsement.LABEL_X5CHAIN).array(chainLeafFirst.size());
        try {
            for (X509Certificate c : chainLeafFirst) header.bytes(c.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("a chain certificate cannot be encoded: " + e.getMessage(), e);
        }
        header.text(GuestEndorsement.LABEL_ISSUER).text(issuerDid);
        header.text(GuestEndorsement.LABEL_FEED).text(feed);
        byte[] protectedHeader = header.toByteArray();
        byte[] payload = ("{\"" + GuestEndorsement.CLAIM_GUEST_SVN + "\":\"" + guestSvn + "\",\""
                + GuestEndorsement.CLAIM_MEASUREMENT + "\":\"" + measurement + "\"}").getBytes(StandardCharsets.UTF_8);

        byte[] toBeSigned = sigStructure(protectedHeader, payload);
        byte[] signature;
        try {
            Signature s = alg.newSignature();
            s.initSign(key);
            s.update(toBeSigned);
            signature = s.sign();
            Signature v = alg.newSignature();
            v.initVerify(chainLeafFirst.getFirst().getPublicKey());
            v.update(toBeSigned);
            if (!v.verify(signature)) {
                throw new IllegalArgumentException("the signing key does not belong to the chain's first certificate ("
                        + chainLeafFirst.getFirst().getSubjectX500Principal().getName() + "); put the key's certificate first");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot sign with a " + key.getAlgorithm() + " key as " + alg + " for the chain's first certificate: " + e.getMessage(), e);
        }
        return new Cbor.Writer().tag(GuestEndorsement.TAG_COSE_SIGN1).array(4)
                .bytes(protectedHeader).map(0).bytes(payload).bytes(signature).toByteArray();
    }

    static CoseAlgorithm algorithmFor(PrivateKey key) {
        if (key instanceof ECKey ec) {
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            return switch (bits) {
                case 384 -> CoseAlgorithm.ES384;
                case 256 -> CoseAlgorithm.ES256;
                default -> throw new IllegalArgumentException("EC keys on a " + bits + "-bit curve are not supported; use P-384 (ES384) or P-256 (ES256)");
            };
        }
        if (key instanceof RSAKey rsa) {
            if (rsa.getModulus().bitLength() < 2048) throw new IllegalArgumentException("the RSA key has " + rsa.getModulus().bitLength() + " bits; at least 2048 are required");
            return CoseAlgorithm.PS384;
        }
        throw new IllegalArgumentException("a " + key.getAlgorithm() + " key cannot sign an endorsement; use EC P-384 or RSA");
    }

    /** RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad = h'', payload]. */
    static byte[] sigStructure(byte[] protectedHeader, byte[] payload) {
        return new Cbor.Writer().array(4).text("Signature1").bytes(protectedHeader).bytes(new byte[0]).bytes(payload).toByteArray();
    }
}
