package dev.coffer.server;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.Date;

/**
 * The home's simulated chip with its ARK and ASK re-issued under keys this test holds (the
 * simulator discards its ARK key), so a test can sign AMD-style CRLs for it. The VCEK keeps its
 * key, subject and AMD extensions, so the chip's reports verify as before.
 */
final class RevocableSimChip {
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    final SimulatedSecureProcessor chip;
    private final KeyPair arkKeys, askKeys;

    private RevocableSimChip(SimulatedSecureProcessor chip, KeyPair arkKeys, KeyPair askKeys) {
        this.chip = chip;
        this.arkKeys = arkKeys;
        this.askKeys = askKeys;
    }

    static RevocableSimChip create(Path home) throws Exception {
        Path dir = home.resolve("sim-tee");
        SimulatedSecureProcessor original = SimulatedSecureProcessor.openOrCreate(dir);
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        KeyPair ark = rsa.generateKeyPair(), ask = rsa.generateKeyPair();
        X509CertificateHolder arkOld = new X509CertificateHolder(original.ark().der());
        X509CertificateHolder askOld = new X509CertificateHolder(original.ask().der());
        X509CertificateHolder vcekOld = new X509CertificateHolder(original.vcek().der());
        byte[] arkDer = reissue(arkOld, SubjectPublicKeyInfo.getInstance(ark.getPublic().getEncoded()), ark.getPrivate());
        byte[] askDer = reissue(askOld, SubjectPublicKeyInfo.getInstance(ask.getPublic().getEncoded()), ark.getPrivate());
        byte[] vcekDer = reissue(vcekOld, vcekOld.getSubjectPublicKeyInfo(), ask.getPrivate());
        Files.writeString(dir.resolve("ark.pem"), Certificates.toPem(arkDer));
        Files.writeString(dir.resolve("ask.pem"), Certificates.toPem(askDer));
        Files.writeString(dir.resolve("vcek.pem"), Certificates.toPem(vcekDer));
        Files.writeString(dir.resolve("cert_chain.pem"), Certificates.toPem(askDer) + Certificates.toPem(arkDer));
        return new RevocableSimChip(SimulatedSecureProcessor.load(dir), ark, ask);
    }

    private static byte[] reissue(X509CertificateHolder old, SubjectPublicKeyInfo key, PrivateKey signer) throws Exception {
        X509v3CertificateBuilder b = new X509v3CertificateBuilder(old.getIssuer(), old.getSerialNumber(), old.getNotBefore(),
                old.getNotAfter(), old.getSubject(), key);
        for (Object oid : old.getExtensionOIDs()) b.addExtension(old.getExtension((ASN1ObjectIdentifier) oid));
        return b.build(pss(signer)).getEncoded();
    }

    private static ContentSigner pss(PrivateKey key) throws Exception {
        return new JcaContentSignerBuilder("SHA384withRSAandMGF1").setProvider(BC).build(key);
    }

    /** A DER CRL of the chip's ARK (as AMD's KDS serves: it lists revoked ASKs). */
    byte[] arkCrl(AmdCertificate... revoked) throws Exception {
        return crl(chip.ark(), arkKeys.getPrivate(), revoked);
    }

    /** A DER CRL of the chip's ASK (it lists revoked VCEKs). */
    byte[] askCrl(AmdCertificate... revoked) throws Exception {
        return crl(chip.ask(), askKeys.getPrivate(), revoked);
    }

    private static byte[] crl(AmdCertificate issuer, PrivateKey key, AmdCertificate... revoked) throws Exception {
        X509CertificateHolder ark = new X509CertificateHolder(issuer.der());
        X509v2CRLBuilder b = new X509v2CRLBuilder(ark.getSubject(), Date.from(Instant.now().minusSeconds(60)));
        b.setNextUpdate(Date.from(Instant.now().plusSeconds(86400)));
        for (AmdCertificate c : revoked) b.addCRLEntry(c.serial(), new Date(), CRLReason.keyCompromise);
        b.addCRLEntry(BigInteger.valueOf(424242), new Date(), CRLReason.keyCompromise); // someone else's
        return b.build(pss(key)).getEncoded();
    }
}
