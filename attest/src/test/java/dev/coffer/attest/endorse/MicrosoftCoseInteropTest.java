package dev.coffer.attest.endorse;

import dev.coffer.attest.verify.CheckResult;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A COSE_Sign1 document signed by Microsoft's ESRP test service, with the header layout of Azure's
 * UVM endorsements (see src/test/resources/endorse/PROVENANCE.md): our CBOR reader, Sig_structure,
 * ES384 r||s verification, chain checks and did:x509 subject policy agree with Microsoft's signer.
 */
class MicrosoftCoseInteropTest {
    static byte[] load() throws Exception {
        try (InputStream in = MicrosoftCoseInteropTest.class.getResourceAsStream("/endorse/hcsshim-esrp.test.cose")) {
            return in.readAllBytes();
        }
    }

    @Test
    void microsoftSignedDocumentVerifies() throws Exception {
        byte[] raw = load();
        // Everything up to the payload claims parses: the refusal is about the missing measurement.
        var e = assertThrows(EndorsementFormatException.class, () -> GuestEndorsement.parse(raw));
        assertTrue(e.getMessage().contains("has no x-ms-sevsnpvm-launchmeasurement"), e.getMessage());

        Cbor.Tagged top = (Cbor.Tagged) Cbor.decode(raw, "test");
        List<Cbor.Item> parts = ((Cbor.Array) top.content()).items();
        byte[] protectedHeader = ((Cbor.Bytes) parts.get(0)).value();
        byte[] payload = ((Cbor.Bytes) parts.get(2)).value();
        byte[] signature = ((Cbor.Bytes) parts.get(3)).value();
        List<Cbor.Entry> header = ((Cbor.MapItem) Cbor.decode(protectedHeader, "header")).entries();
        assertEquals(-35L, ((Cbor.Int) GuestEndorsement.find(header, 1)).value());
        String iss = ((Cbor.Text) GuestEndorsement.find(header, "iss")).value();
        String feed = ((Cbor.Text) GuestEndorsement.find(header, "feed")).value();
        assertEquals("KensHouseOfUVMImages", feed);
        List<X509Certificate> chain = new ArrayList<>();
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        for (Cbor.Item c : ((Cbor.Array) GuestEndorsement.find(header, 33)).items()) {
            chain.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(((Cbor.Bytes) c).value())));
        }
        assertEquals(3, chain.size());

        String measurement = "00".repeat(48);
        GuestEndorsement g = new GuestEndorsement(CoseAlgorithm.ES384, "application/json", chain, iss, feed, measurement, 0,
                raw, protectedHeader, payload, signature);
        EndorsementVerdict v = EndorsementVerifier.verify(g, measurement, Instant.parse("2022-06-01T00:00:00Z"),
                List.of(new TrustedEndorser(iss, feed, 0)));
        assertTrue(v.endorsed(), v.summary());
        assertEquals(EndorsementVerifier.COFFER_COMPLIANT_GUEST, v.complianceStatus());

        // One bit of Microsoft's signature flipped: refused by the signature check alone.
        byte[] bad = signature.clone();
        bad[10] ^= 1;
        GuestEndorsement t = new GuestEndorsement(CoseAlgorithm.ES384, "application/json", chain, iss, feed, measurement, 0,
                raw, protectedHeader, payload, bad);
        EndorsementVerdict tv = EndorsementVerifier.verify(t, measurement, Instant.parse("2022-06-01T00:00:00Z"), List.of(new TrustedEndorser(iss, feed, 0)));
        assertEquals(List.of("signature"), tv.failures().stream().map(CheckResult::name).toList());
        // After the leaf expired (2023-05-04), the chain check refuses it.
        EndorsementVerdict late = EndorsementVerifier.verify(g, measurement, Instant.parse("2024-01-01T00:00:00Z"), List.of(new TrustedEndorser(iss, feed, 0)));
        assertEquals(List.of("chain"), late.failures().stream().map(CheckResult::name).toList());
    }
}
