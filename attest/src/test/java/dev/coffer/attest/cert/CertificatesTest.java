package dev.coffer.attest.cert;

import dev.coffer.attest.TestData;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CertificatesTest {
    @Test
    void readsAmdExtensionsOfARealVcek() {
        AmdCertificate vcek = TestData.GO_SEV_GUEST.vcek();
        assertEquals(CertRole.VCEK, vcek.role());
        assertEquals(java.math.BigInteger.ZERO, vcek.serial(), "real VCEKs have serial 0 and must still parse");
        assertEquals("Milan-B0", vcek.productName().orElseThrow());
        assertEquals(2, vcek.spl(AmdCertificate.BL_SPL).orElseThrow());
        assertEquals(0, vcek.spl(AmdCertificate.TEE_SPL).orElseThrow());
        assertEquals(5, vcek.spl(AmdCertificate.SNP_SPL).orElseThrow());
        assertEquals(0x44, vcek.spl(AmdCertificate.UCODE_SPL).orElseThrow());
        assertTrue(vcek.spl(AmdCertificate.FMC_SPL).isEmpty());
        assertArrayEquals(TestData.GO_SEV_GUEST.report().chipId(), vcek.hwId().orElseThrow());
        assertEquals("Genoa", TestData.OAK_GENOA.vcek().productName().orElseThrow());
    }

    @Test
    void pinnedRootsAndRolesOfTheBundledChains() {
        List<AmdCertificate> all = AmdRoots.bundled();
        assertEquals(3, all.stream().filter(c -> c.role() == CertRole.ARK).count());
        assertEquals(3, all.stream().filter(c -> c.role() == CertRole.ASK).count());
        assertEquals(3, all.stream().filter(c -> c.role() == CertRole.ASVK).count());
        for (AmdCertificate c : all) {
            if (c.role() == CertRole.ARK) {
                assertTrue(AmdRoots.pinnedArk(c).isPresent());
                assertTrue(RsaPss.checkSignedBy(c, c).isEmpty(), c + " is self-signed");
            } else {
                AmdCertificate ark = all.stream().filter(a -> a.role() == CertRole.ARK && a.subject().equals(c.issuer())).findFirst().orElseThrow();
                assertTrue(RsaPss.checkSignedBy(c, ark).isEmpty(), c + " verifies under " + ark);
            }
        }
    }

    @Test
    void malformedInputsSayWhatIsWrong() {
        String pem = new String(TestData.read("amd-roots/ask_ark_milan.pem"), StandardCharsets.US_ASCII);
        var truncated = assertThrows(CertificateFormatException.class, () -> Certificates.parse(pem.substring(0, pem.length() - 40).getBytes()));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        var badBase64 = assertThrows(CertificateFormatException.class,
                () -> Certificates.parse("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".getBytes()));
        assertTrue(badBase64.getMessage().contains("not valid base64"), badBase64.getMessage());
        var garbage = assertThrows(CertificateFormatException.class, () -> Certificates.parse("hello".getBytes()));
        assertTrue(garbage.getMessage().contains("expected a DER X.509 certificate"), garbage.getMessage());
        byte[] der = TestData.read(TestData.GO_SEV_GUEST.vcekFile());
        assertThrows(CertificateFormatException.class, () -> AmdCertificate.fromDer(Arrays.copyOf(der, der.length - 1)));
        assertThrows(CertificateFormatException.class, () -> AmdCertificate.fromDer(Arrays.copyOf(der, der.length + 1)));
        assertThrows(CertificateFormatException.class, () -> AmdCertificate.fromDer(new byte[0]));
    }

    @Test
    void cacheParsesEachEncodingOnce() {
        CertificateCache cache = new CertificateCache(2);
        byte[] pem = TestData.read("amd-roots/ask_ark_milan.pem");
        List<AmdCertificate> first = cache.parse(pem);
        assertSame(first, cache.parse(pem.clone()));
        assertEquals(2, first.size());
        assertThrows(CertificateFormatException.class, () -> cache.parse("nope".getBytes()));
    }
}
