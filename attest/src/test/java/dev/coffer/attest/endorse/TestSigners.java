package dev.coffer.attest.endorse;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/** Test signers: a root CA, an intermediate and a leaf made on the spot, RSA or EC. */
record TestSigners(PrivateKey key, List<X509Certificate> chain) {
    static final String EKU = "1.3.6.1.4.1.311.76.59.1.2";
    static final String MEASUREMENT = "a1".repeat(48);
    static final Instant NOW = Instant.parse("2026-12-01T00:00:00Z");

    static TestSigners ec384(String leafSubject, Duration leafValidity) {
        return make("EC", leafSubject, leafValidity, EKU);
    }

    static TestSigners rsa(String leafSubject) {
        return make("RSA", leafSubject, Duration.ofDays(365), EKU);
    }

    static TestSigners make(String alg, String leafSubject, Duration leafValidity, String eku) {
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance(alg);
            if (alg.equals("EC")) gen.initialize(new ECGenParameterSpec("secp384r1"));
            else gen.initialize(2048);
            KeyPair root = gen.generateKeyPair(), mid = gen.generateKeyPair(), leaf = gen.generateKeyPair();
            String sigAlg = alg.equals("EC") ? "SHA384withECDSA" : "SHA384withRSA";
            X500Name rootName = new X500Name("CN=Test Root,O=Test"), midName = new X500Name("CN=Test Intermediate,O=Test");
            Date from = Date.from(NOW.minus(Duration.ofDays(30)));
            X509Certificate rootCert = cert(rootName, rootName, root, root.getPrivate(), sigAlg, from, Date.from(NOW.plus(Duration.ofDays(3650))), true, null, null);
            X509Certificate midCert = cert(rootName, midName, mid, root.getPrivate(), sigAlg, from, Date.from(NOW.plus(Duration.ofDays(1825))), true, null, null);
            X509Certificate leafCert = cert(midName, new X500Name(leafSubject), leaf, mid.getPrivate(), sigAlg, from,
                    Date.from(NOW.plus(leafValidity)), false, eku, "signer@example.com");
            return new TestSigners(leaf.getPrivate(), List.of(leafCert, midCert, rootCert));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate cert(X500Name issuer, X500Name subject, KeyPair keys, PrivateKey signer, String sigAlg,
                                        Date from, Date to, boolean ca, String eku, String email) throws Exception {
        var b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(System.nanoTime()), from, to, subject, keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(ca))
                .addExtension(Extension.keyUsage, true, new KeyUsage(ca ? KeyUsage.keyCertSign : KeyUsage.digitalSignature));
        if (eku != null) b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(eku))));
        if (email != null) b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.rfc822Name, email)));
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(sigAlg).build(signer)));
    }

    String did() {
        return DidX509.forChain(chain, "eku", EKU);
    }

    TrustedEndorser trusted(String feed) {
        return new TrustedEndorser(did(), feed, 0);
    }

    byte[] sign(String measurement, long svn, String feed) {
        return EndorsementSigner.sign(measurement, svn, feed, key, chain, did());
    }
}
