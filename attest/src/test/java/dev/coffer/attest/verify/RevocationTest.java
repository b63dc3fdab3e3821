package dev.coffer.attest.verify;

import dev.coffer.attest.TestData;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.CertificateFormatException;
import dev.coffer.attest.cert.RevocationList;
import dev.coffer.attest.snp.SigningKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** CRLs signed by the ARK revoke intermediates; a CRL not signed by the ARK is itself a failure. */
class RevocationTest {
    static KeyPair arkKeys, otherKeys;
    static BouncyCastleProvider bc = new BouncyCastleProvider();

    @BeforeAll
    static void keys() throws Exception {
        // Reuse VlekTest's VLEK key (it signs the reports); the root and ASVK here are our own, so we can sign CRLs.
        VlekTest.buildChain();
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        arkKeys = rsa.generateKeyPair();
        otherKeys = rsa.generateKeyPair();
    }

    static RevocationList crl(X500Name issuer, KeyPair signer, BigInteger... revoked) throws Exception {
        X509v2CRLBuilder b = new X509v2CRLBuilder(issuer, Date.from(Instant.now().minusSeconds(60)));
        b.setNextUpdate(Date.from(Instant.now().plusSeconds(86400)));
        for (BigInteger serial : revoked) b.addCRLEntry(serial, new Date(), CRLReason.keyCompromise);
        return RevocationList.fromDer(b.build(VlekTest.pss(bc, signer.getPrivate())).getEncoded());
    }

    @Test
    void anIntermediateListedInTheArksCrlIsRejected() throws Exception {
        // Build a root whose key we hold, with an intermediate and a VLEK under it.
        X500Name arkName = new X500Name("CN=ARK-Crl-Sim,O=Coffer tests"), asvkName = new X500Name("CN=SEV-VLEK-Crl-Sim,O=Coffer tests");
        Date from = Date.from(Instant.now().minusSeconds(3600)), to = Date.from(Instant.now().plusSeconds(86400));
        AmdCertificate ark = AmdCertificate.fromDer(new JcaX509v3CertificateBuilder(arkName, BigInteger.ONE, from, to, arkName,
                arkKeys.getPublic()).build(VlekTest.pss(bc, arkKeys.getPrivate())).getEncoded());
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        KeyPair asvkKeys = rsa.generateKeyPair();
        BigInteger asvkSerial = BigInteger.valueOf(0x10101);
        AmdCertificate asvk = AmdCertificate.fromDer(new JcaX509v3CertificateBuilder(arkName, asvkSerial, from, to, asvkName,
                asvkKeys.getPublic()).build(VlekTest.pss(bc, arkKeys.getPrivate())).getEncoded());
        // Re-issue VlekTest's VLEK key under this ASVK.
        var b = new JcaX509v3CertificateBuilder(asvkName, BigInteger.TEN, from, to, new X500Name("CN=SEV-VLEK,O=Coffer tests"),
                java.security.KeyFactory.getInstance("EC").generatePublic(new java.security.spec.X509EncodedKeySpec(
                        VlekTest.vlek.publicKeyInfo().getEncoded())));
        for (var oid : List.of(AmdCertificate.PRODUCT_NAME, AmdCertificate.BL_SPL, AmdCertificate.TEE_SPL, AmdCertificate.SNP_SPL,
                AmdCertificate.UCODE_SPL, AmdCertificate.CSP_ID)) {
            b.addExtension(oid, false, VlekTest.vlek.extension(oid).orElseThrow());
        }
        AmdCertificate vlek = AmdCertificate.fromDer(b.build(VlekTest.pss(bc, asvkKeys.getPrivate())).getEncoded());
        var report = VlekTest.report(SigningKey.VLEK);

        VerifierPolicy base = VerifierPolicy.builder().trustSimRoot(ark).build();
        Verdict noCrl = new SnpVerifier(base).verify(report, vlek, List.of(asvk, ark));
        assertTrue(noCrl.valid(), noCrl.summary());
        assertEquals(CheckResult.Status.SKIP, noCrl.check("revocation").orElseThrow().status());

        Verdict clean = new SnpVerifier(base.toBuilder().crl(crl(arkName, arkKeys, BigInteger.valueOf(99))).build())
                .verify(report, vlek, List.of(asvk, ark));
        assertTrue(clean.valid(), clean.summary());
        assertEquals(CheckResult.Status.PASS, clean.check("revocation").orElseThrow().status());

        Verdict revoked = new SnpVerifier(base.toBuilder().crl(crl(arkName, arkKeys, asvkSerial)).build())
                .verify(report, vlek, List.of(asvk, ark));
        assertFalse(revoked.valid());
        assertTrue(revoked.check("revocation").orElseThrow().detail().contains("SEV-VLEK-Crl-Sim (serial 0x10101) is revoked"),
                revoked.summary());

        Verdict forgedCrl = new SnpVerifier(base.toBuilder().crl(crl(arkName, otherKeys)).build())
                .verify(report, vlek, List.of(asvk, ark));
        assertFalse(forgedCrl.valid());
        assertTrue(forgedCrl.check("revocation").orElseThrow().detail().contains("does not verify"), forgedCrl.summary());
    }

    @Test
    void aCrlForAnotherRootIsIgnoredAndGarbageIsRefused() throws Exception {
        var s = TestData.TRUSTEE;
        Verdict v = new SnpVerifier(RealEvidenceTest.verifier(s).policy().toBuilder()
                .crl(crl(new X500Name("CN=ARK-Other"), arkKeys)).build()).verify(s.report(), s.vcek(), s.chain());
        assertTrue(v.valid(), v.summary());
        assertEquals(CheckResult.Status.SKIP, v.check("revocation").orElseThrow().status());
        assertThrows(CertificateFormatException.class, () -> RevocationList.fromDer("not a crl".getBytes()));
    }
}
