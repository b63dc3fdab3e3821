package dev.coffer.attest.dcap;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;

/**
 * A stand-in Intel PKI (root, PCK Platform CA, PCK leaf carrying a real PCK's SGX extensions, TCB
 * Signing) that re-signs a real quote and real collateral with fresh keys. It exists for what
 * captured data cannot show: a revoked or expired PCK, and a CRL signed by the wrong key. The
 * verifier is anchored at this root only through its package-private test constructor.
 */
final class SyntheticPki {
    static final Instant FROM = Instant.parse("2023-01-01T00:00:00Z");
    static final Instant TO = Instant.parse("2030-01-01T00:00:00Z");
    static final X500Name ROOT = new X500Name("CN=Intel SGX Root CA,O=Intel Corporation,L=Santa Clara,ST=CA,C=US");
    static final X500Name PLATFORM = new X500Name("CN=Intel SGX PCK Platform CA,O=Intel Corporation,L=Santa Clara,ST=CA,C=US");
    static final X500Name TCB = new X500Name("CN=Intel SGX TCB Signing,O=Intel Corporation,L=Santa Clara,ST=CA,C=US");
    static final X500Name LEAF = new X500Name("CN=Intel SGX PCK Certificate,O=Intel Corporation,L=Santa Clara,ST=CA,C=US");

    final KeyPair rootKey = ec(), platformKey = ec(), tcbKey = ec(), pckKey = ec(), attestationKey = ec();
    final X509Certificate root, platform, tcbSigning;
    X509Certificate pck;

    SyntheticPki() throws Exception {
        root = cert(ROOT, ROOT, rootKey, rootKey, 1, true, FROM, TO, null);
        platform = cert(PLATFORM, ROOT, platformKey, rootKey, 2, true, FROM, TO, null);
        tcbSigning = cert(TCB, ROOT, tcbKey, rootKey, 3, false, FROM, TO, null);
    }

    DcapVerifier verifier() {
        return new DcapVerifier(root);
    }

    /** The PCK leaf, with the SGX extensions of {@code realPck}, valid {@code from..to}. */
    void issuePck(X509Certificate realPck, Instant from, Instant to) throws Exception {
        byte[] sgx = ASN1OctetString.getInstance(realPck.getExtensionValue(PckExtensions.SGX_EXTENSIONS)).getOctets();
        pck = cert(LEAF, PLATFORM, pckKey, platformKey, 100, false, from, to, sgx);
    }

    /** {@code real} re-signed: a fresh attestation key, the QE report re-bound and signed by the synthetic PCK, the synthetic chain. */
    byte[] resign(DcapQuote real) throws Exception {
        byte[] signed = Arrays.copyOf(real.raw(), real.signedLength());
        byte[] key = rawKey(attestationKey);
        byte[] qe = real.qeReport().raw();
        byte[] binding = MessageDigest.getInstance("SHA-256").digest(concat(key, real.qeAuthData()));
        System.arraycopy(binding, 0, qe, 320, 32);
        Arrays.fill(qe, 352, 384, (byte) 0);
        byte[] pem = Collateral.pem(List.of(pck, platform, root)).getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream cert = new ByteArrayOutputStream();
        cert.write(qe);
        cert.write(sign(pckKey, qe));
        cert.write(le16(real.qeAuthData().length));
        cert.write(real.qeAuthData());
        cert.write(le16(5));
        cert.write(le32(pem.length));
        cert.write(pem);
        ByteArrayOutputStream sig = new ByteArrayOutputStream();
        sig.write(sign(attestationKey, signed));
        sig.write(key);
        if (real.header().version() == 3) {
            sig.write(cert.toByteArray());
        } else {
            sig.write(le16(6));
            sig.write(le32(cert.size()));
            sig.write(cert.toByteArray());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(signed);
        out.write(le32(sig.size()));
        out.write(sig.toByteArray());
        return out.toByteArray();
    }

    /** {@code real} collateral with its TCB info and QE identity re-signed and CRLs reissued (revoking the given serials). */
    Collateral collateral(Collateral real, List<BigInteger> revokedPcks, List<BigInteger> revokedCas, KeyPair pckCrlSigner) throws Exception {
        byte[] tcbSig = sign(tcbKey, real.tcbInfo().raw().getBytes(StandardCharsets.UTF_8));
        byte[] qeSig = sign(tcbKey, real.qeIdentity().raw().getBytes(StandardCharsets.UTF_8));
        return new Collateral(List.of(platform, root), crl(ROOT, rootKey, revokedCas), crl(PLATFORM, pckCrlSigner, revokedPcks),
                List.of(tcbSigning, root), real.tcbInfo(), tcbSig, List.of(tcbSigning, root), real.qeIdentity(), qeSig);
    }

    static X509CRL crl(X500Name issuer, KeyPair key, List<BigInteger> revoked) throws Exception {
        X509v2CRLBuilder b = new X509v2CRLBuilder(issuer, Date.from(FROM));
        b.setNextUpdate(Date.from(TO));
        for (BigInteger s : revoked) b.addCRLEntry(s, Date.from(FROM), CRLReason.keyCompromise);
        return new JcaX509CRLConverter().getCRL(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
    }

    static X509Certificate cert(X500Name subject, X500Name issuer, KeyPair subjectKey, KeyPair issuerKey, long serial, boolean ca,
                                Instant from, Instant to, byte[] sgxExtensions) throws Exception {
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(serial), Date.from(from), Date.from(to),
                subject, subjectKey.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (sgxExtensions != null) b.addExtension(new ASN1ObjectIdentifier(PckExtensions.SGX_EXTENSIONS), false, sgxExtensions);
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey.getPrivate())));
    }

    static KeyPair ec() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] sign(KeyPair k, byte[] data) throws Exception {
        Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
        s.initSign(k.getPrivate());
        s.update(data);
        return s.sign();
    }

    static byte[] rawKey(KeyPair k) {
        ECPublicKey pub = (ECPublicKey) k.getPublic();
        return concat(fixed(pub.getW().getAffineX()), fixed(pub.getW().getAffineY()));
    }

    private static byte[] fixed(BigInteger v) {
        byte[] b = v.toByteArray();
        byte[] out = new byte[32];
        int n = Math.min(32, b.length);
        System.arraycopy(b, b.length - n, out, 32 - n, n);
        return out;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static byte[] le16(int v) {
        return new byte[] {(byte) v, (byte) (v >> 8)};
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
