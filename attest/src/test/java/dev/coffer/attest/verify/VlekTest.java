package dev.coffer.attest.verify;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.EcdsaP384;
import dev.coffer.attest.snp.SigningKey;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportBuilder;
import dev.coffer.attest.snp.TcbLayout;
import dev.coffer.attest.snp.TcbVersion;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * VLEK-signed reports (cloud-provider endorsement keys chained to an ASVK) go through the same
 * verifier. No real VLEK evidence is in the test data, so this builds a VLEK-shaped chain with
 * its own test root, trusted the way a simulated root is.
 */
class VlekTest {
    static final TcbVersion TCB = TcbVersion.of(TcbLayout.MILAN_GENOA, -1, 3, 0, 8, 115);
    static AmdCertificate ark, asvk, vlek;
    static ECPrivateKeyParameters vlekKey;

    @BeforeAll
    static void buildChain() throws Exception {
        var bc = new BouncyCastleProvider();
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        KeyPair arkKeys = rsa.generateKeyPair(), asvkKeys = rsa.generateKeyPair();
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp384r1"));
        KeyPair vlekKeys = ec.generateKeyPair();
        X500Name arkName = new X500Name("CN=ARK-Test-Sim,O=Coffer tests"), asvkName = new X500Name("CN=SEV-VLEK-Test-Sim,O=Coffer tests"),
                vlekName = new X500Name("CN=SEV-VLEK,O=Coffer tests");
        Date from = Date.from(Instant.now().minusSeconds(3600)), to = Date.from(Instant.now().plusSeconds(86400));
        ark = AmdCertificate.fromDer(new JcaX509v3CertificateBuilder(arkName, BigInteger.ONE, from, to, arkName, arkKeys.getPublic())
                .build(pss(bc, arkKeys.getPrivate())).getEncoded());
        asvk = AmdCertificate.fromDer(new JcaX509v3CertificateBuilder(arkName, BigInteger.TWO, from, to, asvkName, asvkKeys.getPublic())
                .build(pss(bc, arkKeys.getPrivate())).getEncoded());
        var b = new JcaX509v3CertificateBuilder(asvkName, BigInteger.TEN, from, to, vlekName, vlekKeys.getPublic());
        b.addExtension(AmdCertificate.PRODUCT_NAME, false, new DERIA5String("Genoa"));
        b.addExtension(AmdCertificate.BL_SPL, false, new ASN1Integer(TCB.bootloader()));
        b.addExtension(AmdCertificate.TEE_SPL, false, new ASN1Integer(TCB.tee()));
        b.addExtension(AmdCertificate.SNP_SPL, false, new ASN1Integer(TCB.snp()));
        b.addExtension(AmdCertificate.UCODE_SPL, false, new ASN1Integer(TCB.microcode()));
        b.addExtension(AmdCertificate.CSP_ID, false, new DERIA5String("coffer-test-cloud"));
        vlek = AmdCertificate.fromDer(b.build(pss(bc, asvkKeys.getPrivate())).getEncoded());
        vlekKey = new ECPrivateKeyParameters(((ECPrivateKey) vlekKeys.getPrivate()).getS(), EcdsaP384.DOMAIN);
    }

    static org.bouncycastle.operator.ContentSigner pss(BouncyCastleProvider bc, PrivateKey k) throws Exception {
        return new JcaContentSignerBuilder("SHA384withRSAandMGF1").setProvider(bc).build(k);
    }

    static SnpReport report(SigningKey claimed) {
        SnpReportBuilder b = new SnpReportBuilder(3).policy(0x30000).signingKey(claimed).tcb(TCB).cpuid(0x19, 0x11, 1)
                .measurement(new byte[48]).hostData(new byte[32]).reportData(new byte[64]);
        byte[][] rs = EcdsaP384.sign(vlekKey, b.signedArea());
        return SnpReport.parse(b.build(rs[0], rs[1]));
    }

    @Test
    void vlekReportsVerifyThroughTheAsvk() {
        assertEquals("coffer-test-cloud", vlek.cspId().orElseThrow());
        Verdict v = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(ark).build()).verify(report(SigningKey.VLEK), List.of(asvk, ark, vlek));
        assertTrue(v.valid(), v.summary());
        assertEquals(CheckResult.Status.SKIP, v.check("chip_id").orElseThrow().status());
        assertEquals("genoa", v.product().orElseThrow().toString());
    }

    @Test
    void aReportClaimingVcekIsNotAcceptedWithAVlek() {
        Verdict v = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(ark).build()).verify(report(SigningKey.VCEK), vlek, List.of(asvk, ark));
        assertFalse(v.valid());
        assertEquals(List.of("signing_key"), v.failures().stream().map(CheckResult::name).toList());
    }

    @Test
    void withoutTrustingTheRootTheVlekChainFails() {
        Verdict v = new SnpVerifier(VerifierPolicy.defaults()).verify(report(SigningKey.VLEK), vlek, List.of(asvk, ark));
        assertFalse(v.valid());
        assertTrue(v.check("certificate_chain").orElseThrow().detail().contains("not a pinned AMD ARK"));
    }
}
