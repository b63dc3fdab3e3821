package dev.coffer.attest.verify;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.EcdsaP384;
import dev.coffer.attest.snp.SigningKey;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportBuilder;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * An attacker copies AMD's names exactly (ARK-Milan → SEV-Milan → SEV-VCEK, same extensions)
 * with keys of their own. Only the ARK fingerprint tells it apart, and it must.
 */
class ForgedChainTest {
    /** Subject names exactly as in AMD's Milan chain. */
    static X500Name amd(String cn) {
        return new X500Name("OU=Engineering,C=US,L=Santa Clara,ST=CA,O=Advanced Micro Devices,CN=" + cn);
    }

    @Test
    void aLookalikeChainIsRejectedBecauseItsArkIsNotPinned() throws Exception {
        var bc = new BouncyCastleProvider();
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        KeyPair arkKeys = rsa.generateKeyPair(), askKeys = rsa.generateKeyPair();
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp384r1"));
        KeyPair vcekKeys = ec.generateKeyPair();
        Date from = Date.from(Instant.now().minusSeconds(3600)), to = Date.from(Instant.now().plusSeconds(86400));
        AmdCertificate ark = AmdCertificate.fromDer(new JcaX509v3CertificateBuilder(amd("ARK-Milan"), BigInteger.ONE, from, to,
                amd("ARK-Milan"), arkKeys.getPublic()).build(VlekTest.pss(bc, arkKeys.getPrivate())).getEncoded());
        AmdCertificate ask = AmdCertificate.fromDer(new JcaX509v3CertificateBuilder(amd("ARK-Milan"), BigInteger.TWO, from, to,
                amd("SEV-Milan"), askKeys.getPublic()).build(VlekTest.pss(bc, arkKeys.getPrivate())).getEncoded());
        byte[] chipId = new byte[64];
        chipId[0] = 1;
        var b = new JcaX509v3CertificateBuilder(amd("SEV-Milan"), BigInteger.ZERO, from, to, amd("SEV-VCEK"), vcekKeys.getPublic());
        b.addExtension(AmdCertificate.PRODUCT_NAME, false, new DERIA5String("Milan-B0"));
        b.addExtension(AmdCertificate.BL_SPL, false, new ASN1Integer(VlekTest.TCB.bootloader()));
        b.addExtension(AmdCertificate.TEE_SPL, false, new ASN1Integer(VlekTest.TCB.tee()));
        b.addExtension(AmdCertificate.SNP_SPL, false, new ASN1Integer(VlekTest.TCB.snp()));
        b.addExtension(AmdCertificate.UCODE_SPL, false, new ASN1Integer(VlekTest.TCB.microcode()));
        b.addExtension(AmdCertificate.HW_ID, false, chipId);
        AmdCertificate vcek = AmdCertificate.fromDer(b.build(VlekTest.pss(bc, askKeys.getPrivate())).getEncoded());

        SnpReportBuilder rb = new SnpReportBuilder(2).policy(0x30000).signingKey(SigningKey.VCEK).tcb(VlekTest.TCB).chipId(chipId)
                .measurement(new byte[48]).hostData(new byte[32]).reportData(new byte[64]);
        byte[][] rs = EcdsaP384.sign(new ECPrivateKeyParameters(((ECPrivateKey) vcekKeys.getPrivate()).getS(), EcdsaP384.DOMAIN), rb.signedArea());
        SnpReport report = SnpReport.parse(rb.build(rs[0], rs[1]));

        Verdict v = new SnpVerifier(VerifierPolicy.defaults()).verify(report, vcek, List.of(ask, ark));
        assertFalse(v.valid());
        assertEquals(TeeKind.UNKNOWN, v.tee());
        assertEquals(List.of("certificate_chain"), v.failures().stream().map(CheckResult::name).toList(),
                "everything else checks out; only the root gives the forgery away");
        assertTrue(v.check("certificate_chain").orElseThrow().detail().contains("is not a pinned AMD ARK"));

        // Without the forged intermediates the bundled real ASK is tried, and the VCEK does not verify under it.
        Verdict bare = new SnpVerifier(VerifierPolicy.defaults()).verify(report, vcek, List.of());
        assertFalse(bare.valid());
        assertTrue(bare.check("certificate_chain").orElseThrow().detail().contains("does not verify"), bare.summary());
    }
}
