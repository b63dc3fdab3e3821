package dev.coffer.cli.attest;

import dev.coffer.attest.endorse.DidX509;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.endorse.EndorsementSigner;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;

/**
 * An organisation's release-signing CA and leaf made for a test, valid from {@code from} to
 * {@code to} (the real reports in testdata are verified at dates in the past), with Coffer's EKU.
 */
public record TestEndorser(PrivateKey key, List<X509Certificate> chain, String feed) {
    public static TestEndorser make(String feed, Instant from, Instant to) {
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
            gen.initialize(new ECGenParameterSpec("secp384r1"));
            KeyPair ca = gen.generateKeyPair(), leaf = gen.generateKeyPair();
            X500Name caName = new X500Name("CN=Test Release CA,O=Example"), leafName = new X500Name("CN=Test Release Signer,O=Example");
            var signer = new JcaContentSignerBuilder("SHA384withECDSA").build(ca.getPrivate());
            X509Certificate caCert = new JcaX509CertificateConverter().getCertificate(
                    new JcaX509v3CertificateBuilder(caName, BigInteger.ONE, Date.from(from), Date.from(to), caName, ca.getPublic())
                            .addExtension(Extension.basicConstraints, true, new BasicConstraints(true)).build(signer));
            X509Certificate leafCert = new JcaX509CertificateConverter().getCertificate(
                    new JcaX509v3CertificateBuilder(caName, BigInteger.TWO, Date.from(from), Date.from(to), leafName, leaf.getPublic())
                            .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                            .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(EndorsementKey.EKU))))
                            .build(signer));
            return new TestEndorser(leaf.getPrivate(), List.of(leafCert, caCert), feed);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public String did() {
        return DidX509.forChain(chain, "eku", EndorsementKey.EKU);
    }

    public String trust() {
        return did() + "," + feed;
    }

    public byte[] sign(String measurement, long svn) {
        return EndorsementSigner.sign(measurement, svn, feed, key, chain, did());
    }

    /** Writes key.pem (PKCS#8) and chain.pem (leaf first) as a user would bring them. */
    public void writePem(Path keyFile, Path chainFile) throws Exception {
        Files.writeString(keyFile, pem("PRIVATE KEY", key.getEncoded()));
        Files.writeString(chainFile, pem("CERTIFICATE", chain.get(0).getEncoded()) + pem("CERTIFICATE", chain.get(1).getEncoded()));
    }

    public static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
