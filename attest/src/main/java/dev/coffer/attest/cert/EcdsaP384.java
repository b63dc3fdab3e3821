package dev.coffer.attest.cert;

import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;

import java.math.BigInteger;

/**
 * ECDSA P-384 / SHA-384 in the SNP report's encoding: r and s as 72-byte little-endian fields.
 * Uses Bouncy Castle's specialised secp384r1 field arithmetic; keeping one
 * {@link ECPublicKeyParameters} per endorsement key lets BC keep its precomputed multiples of
 * the key's point, which is most of why a cached chain verifies several times faster.
 */
public final class EcdsaP384 {
    private static final X9ECParameters CURVE = CustomNamedCurves.getByName("secp384r1");
    public static final ECDomainParameters DOMAIN = new ECDomainParameters(CURVE.getCurve(), CURVE.getG(), CURVE.getN(), CURVE.getH());

    private EcdsaP384() {}

    /** The P-384 public key of an endorsement certificate; fails with a reason if it has none. */
    public static ECPublicKeyParameters publicKey(AmdCertificate cert) {
        var spki = cert.publicKeyInfo();
        var params = spki.getAlgorithm().getParameters();
        if (!org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey.equals(spki.getAlgorithm().getAlgorithm())
                || !org.bouncycastle.asn1.sec.SECObjectIdentifiers.secp384r1.equals(params)) {
            throw new CertificateFormatException(cert.subjectCn() + " must hold an EC P-384 key, found "
                    + spki.getAlgorithm().getAlgorithm() + (params == null ? "" : " " + params));
        }
        try {
            return new ECPublicKeyParameters(DOMAIN.getCurve().decodePoint(spki.getPublicKeyData().getOctets()), DOMAIN);
        } catch (IllegalArgumentException e) {
            throw new CertificateFormatException(cert.subjectCn() + " holds an invalid P-384 point (" + e.getMessage() + ")", e);
        }
    }

    /** Verifies a signature over {@code message} (hashed here with SHA-384). */
    public static boolean verify(ECPublicKeyParameters key, byte[] message, int offset, int length,
                                 byte[] rLittleEndian, byte[] sLittleEndian) {
        byte[] digest = sha384(message, offset, length);
        ECDSASigner signer = new ECDSASigner();
        signer.init(false, key);
        return signer.verifySignature(digest, fromLittleEndian(rLittleEndian), fromLittleEndian(sLittleEndian));
    }

    /** Signs with a deterministic nonce (RFC 6979) and returns {r, s} as 72-byte little-endian fields. */
    public static byte[][] sign(ECPrivateKeyParameters key, byte[] message) {
        ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA384Digest()));
        signer.init(true, key);
        BigInteger[] rs = signer.generateSignature(sha384(message, 0, message.length));
        return new byte[][] {toLittleEndian(rs[0], 72), toLittleEndian(rs[1], 72)};
    }

    static byte[] sha384(byte[] m, int off, int len) {
        SHA384Digest d = new SHA384Digest();
        d.update(m, off, len);
        byte[] out = new byte[48];
        d.doFinal(out, 0);
        return out;
    }

    static BigInteger fromLittleEndian(byte[] le) {
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        return new BigInteger(1, be);
    }

    static byte[] toLittleEndian(BigInteger v, int len) {
        byte[] be = v.toByteArray();
        byte[] le = new byte[len];
        for (int i = 0; i < be.length && i < len; i++) le[i] = be[be.length - 1 - i];
        return le;
    }
}
