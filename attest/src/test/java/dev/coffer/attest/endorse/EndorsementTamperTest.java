package dev.coffer.attest.endorse;

import dev.coffer.attest.verify.CheckResult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** Every single-field change to a signed endorsement is refused, naming the check that caught it. */
class EndorsementTamperTest {
    static final String FEED = "coffer-guest";
    static TestSigners signer, other;
    static byte[] genuine;

    @BeforeAll
    static void sign() {
        signer = TestSigners.ec384("CN=Signer,O=Test Org,C=US", Duration.ofDays(365));
        other = TestSigners.ec384("CN=Signer,O=Test Org,C=US", Duration.ofDays(365));
        genuine = signer.sign(TestSigners.MEASUREMENT, 5, FEED);
    }

    static EndorsementVerdict verify(byte[] cose, List<TrustedEndorser> trusted) {
        return EndorsementVerifier.verify(GuestEndorsement.parse(cose), TestSigners.MEASUREMENT, TestSigners.NOW, trusted);
    }

    static Set<String> failed(EndorsementVerdict v) {
        assertFalse(v.endorsed(), "expected a refusal");
        assertNull(v.complianceStatus());
        for (CheckResult f : v.failures()) assertFalse(f.detail().isBlank());
        assertTrue(v.summary().startsWith("not endorsed: "), v.summary());
        return v.failures().stream().map(CheckResult::name).collect(Collectors.toSet());
    }

    @Test
    void genuineIsEndorsed() {
        assertTrue(verify(genuine, List.of(signer.trusted(FEED))).endorsed());
    }

    @Test
    void payloadMeasurementAltered() {
        String other = "b2".repeat(48);
        byte[] t = Cose.of(genuine).withPayload("{\"x-ms-sevsnpvm-guestsvn\":\"5\",\"x-ms-sevsnpvm-launchmeasurement\":\"" + other + "\"}").encode();
        assertEquals(Set.of("signature", "measurement"), failed(verify(t, List.of(signer.trusted(FEED)))));
        // Verified against the altered measurement, only the signature gives it away.
        EndorsementVerdict v = EndorsementVerifier.verify(GuestEndorsement.parse(t), other, TestSigners.NOW, List.of(signer.trusted(FEED)));
        assertEquals(Set.of("signature"), failed(v));
    }

    @Test
    void payloadSvnAltered() {
        byte[] t = Cose.of(genuine).withPayload("{\"x-ms-sevsnpvm-guestsvn\":\"9\",\"x-ms-sevsnpvm-launchmeasurement\":\"" + TestSigners.MEASUREMENT + "\"}").encode();
        assertEquals(Set.of("signature"), failed(verify(t, List.of(signer.trusted(FEED)))));
    }

    @Test
    void everySignatureByteAltered() {
        Cose c = Cose.of(genuine);
        for (int i = 0; i < c.signature().length; i++) {
            byte[] s = c.signature().clone();
            s[i] ^= 0x01;
            assertEquals(Set.of("signature"), failed(verify(c.withSignature(s).encode(), List.of(signer.trusted(FEED)))), "byte " + i);
        }
        assertEquals(Set.of("signature"), failed(verify(c.withSignature(new byte[95]).encode(), List.of(signer.trusted(FEED)))));
    }

    @Test
    void protectedIssuerAltered() {
        byte[] h = Cose.header(-35, signer.chain(), other.did(), FEED);
        Set<String> f = failed(verify(Cose.of(genuine).withHeader(h).encode(), List.of(signer.trusted(FEED))));
        assertEquals(Set.of("signature", "did_x509", "issuer_feed", "guest_svn"), f);
        // Even when the forged issuer is trusted, the signature and the DID resolution refuse it.
        f = failed(verify(Cose.of(genuine).withHeader(h).encode(), List.of(other.trusted(FEED))));
        assertEquals(Set.of("signature", "did_x509"), f);
    }

    @Test
    void protectedFeedAltered() {
        byte[] h = Cose.header(-35, signer.chain(), signer.did(), "ContainerPlat-AMD-UVM");
        assertEquals(Set.of("signature"), failed(verify(Cose.of(genuine).withHeader(h).encode(), List.of(signer.trusted(null)))));
        assertEquals(Set.of("signature", "issuer_feed", "guest_svn"), failed(verify(Cose.of(genuine).withHeader(h).encode(), List.of(signer.trusted(FEED)))));
    }

    @Test
    void protectedAlgAltered() {
        for (int alg : new int[]{-7, -38, -37}) {
            byte[] h = Cose.header(alg, signer.chain(), signer.did(), FEED);
            assertEquals(Set.of("signature"), failed(verify(Cose.of(genuine).withHeader(h).encode(), List.of(signer.trusted(FEED)))), "alg " + alg);
        }
    }

    @Test
    void es256ClaimedForAP384KeyIsRefused() throws Exception {
        byte[] h = Cose.header(-7, signer.chain(), signer.did(), FEED);
        java.security.Signature s = java.security.Signature.getInstance("SHA256withECDSAinP1363Format");
        s.initSign(signer.key());
        s.update(EndorsementSigner.sigStructure(h, Cose.of(genuine).payload()));
        EndorsementVerdict v = verify(Cose.of(genuine).withHeader(h).withSignature(s.sign()).encode(), List.of(signer.trusted(FEED)));
        assertEquals(Set.of("signature"), failed(v));
        assertTrue(v.check("signature").orElseThrow().detail().contains("384-bit curve"), v.summary());
    }

    @Test
    void x5chainSwapped() {
        byte[] h = Cose.header(-35, other.chain(), signer.did(), FEED);
        assertEquals(Set.of("signature", "did_x509"), failed(verify(Cose.of(genuine).withHeader(h).encode(), List.of(signer.trusted(FEED)))));
        // The other chain signing honestly under our DID still fails: its CA is not the one the DID pins.
        byte[] forged = EndorsementSigner.sign(TestSigners.MEASUREMENT, 5, FEED, other.key(), other.chain(), signer.did());
        EndorsementVerdict v = verify(forged, List.of(signer.trusted(FEED)));
        assertEquals(Set.of("did_x509"), failed(v));
        assertTrue(v.check("did_x509").orElseThrow().detail().contains("matches no CA certificate"), v.summary());
    }

    @Test
    void chainMissingItsIntermediateIsRefused() {
        List<java.security.cert.X509Certificate> broken = List.of(signer.chain().get(0), signer.chain().get(2));
        byte[] cose = EndorsementSigner.sign(TestSigners.MEASUREMENT, 5, FEED, signer.key(), broken, signer.did());
        EndorsementVerdict v = verify(cose, List.of(signer.trusted(FEED)));
        assertEquals(Set.of("chain"), failed(v));
        assertTrue(v.check("chain").orElseThrow().detail().contains("is issued by"), v.summary());
    }

    @Test
    void leafAloneIsRefused() {
        byte[] cose = EndorsementSigner.sign(TestSigners.MEASUREMENT, 5, FEED, signer.key(), List.of(signer.chain().get(0)), signer.did());
        assertEquals(Set.of("chain", "did_x509"), failed(verify(cose, List.of(signer.trusted(FEED)))));
    }

    @Test
    void expiredLeafRefusedAtALaterTime() {
        TestSigners shortLived = TestSigners.ec384("CN=Short", Duration.ofDays(1));
        GuestEndorsement e = GuestEndorsement.parse(shortLived.sign(TestSigners.MEASUREMENT, 1, FEED));
        assertTrue(EndorsementVerifier.verify(e, TestSigners.MEASUREMENT, TestSigners.NOW, List.of(shortLived.trusted(FEED))).endorsed());
        EndorsementVerdict later = EndorsementVerifier.verify(e, TestSigners.MEASUREMENT, TestSigners.NOW.plus(Duration.ofDays(2)), List.of(shortLived.trusted(FEED)));
        assertEquals(Set.of("chain"), failed(later));
        assertTrue(later.check("chain").orElseThrow().detail().contains("expired"), later.summary());
        EndorsementVerdict earlier = EndorsementVerifier.verify(e, TestSigners.MEASUREMENT, TestSigners.NOW.minus(Duration.ofDays(365)), List.of(shortLived.trusted(FEED)));
        assertEquals(Set.of("chain"), failed(earlier));
    }

    @Test
    void otherMeasurementRefused() {
        EndorsementVerdict v = EndorsementVerifier.verify(GuestEndorsement.parse(genuine), "c3".repeat(48), TestSigners.NOW, List.of(signer.trusted(FEED)));
        assertEquals(Set.of("measurement"), failed(v));
        assertTrue(v.check("measurement").orElseThrow().detail().contains("c3c3"), v.summary());
    }

    @Test
    void svnBelowMinimumRefused() {
        EndorsementVerdict v = verify(genuine, List.of(signer.trusted(FEED).withMinimumGuestSvn(6)));
        assertEquals(Set.of("guest_svn"), failed(v));
        assertTrue(verify(genuine, List.of(signer.trusted(FEED).withMinimumGuestSvn(5))).endorsed());
    }

    @Test
    void untrustedIssuerRefused() {
        assertEquals(Set.of("issuer_feed", "guest_svn"), failed(verify(genuine, List.of())));
        assertEquals(Set.of("issuer_feed", "guest_svn"), failed(verify(genuine, List.of(other.trusted(FEED), TrustedEndorser.MICROSOFT_UVM))));
    }

    @Test
    void ekuAndSubjectPolicies() {
        String root = DidX509.fingerprint(signer.chain().getLast(), "sha256");
        String base = "did:x509:0:sha256:" + root;
        String mid = "did:x509:0:sha384:" + DidX509.fingerprint(signer.chain().get(1), "sha384");
        for (String good : List.of(base + "::eku:" + TestSigners.EKU, base + "::subject:CN:Signer:O:Test%20Org",
                base + "::subject:C:US::eku:" + TestSigners.EKU, mid + "::san:email:signer%40example.com",
                base + "::subject:2.5.4.3:Signer")) {
            byte[] cose = EndorsementSigner.sign(TestSigners.MEASUREMENT, 5, FEED, signer.key(), signer.chain(), good);
            EndorsementVerdict v = verify(cose, List.of(new TrustedEndorser(good, FEED, 0)));
            assertTrue(v.endorsed(), good + ": " + v.summary());
        }
        for (String bad : List.of(base + "::eku:1.2.3.4", base + "::subject:CN:Other", base + "::subject:O:Test%20Org:L:Paris",
                base + "::eku:" + TestSigners.EKU + "::subject:CN:Other", base + "::san:email:other%40example.com",
                base + "::san:dns:example.com", base + "::fulcio-issuer:accounts.google.com",
                "did:x509:0:sha256:" + DidX509.fingerprint(signer.chain().getFirst(), "sha256") + "::eku:" + TestSigners.EKU)) {
            byte[] cose = EndorsementSigner.sign(TestSigners.MEASUREMENT, 5, FEED, signer.key(), signer.chain(), bad);
            EndorsementVerdict v = verify(cose, List.of(new TrustedEndorser(bad, FEED, 0)));
            assertEquals(Set.of("did_x509"), failed(v), bad);
        }
    }

    @Test
    void microsoftIssuerAndFeedGiveAzureStatusOnlyWhenEverythingElseHolds() {
        // Our signer cannot resolve Microsoft's DID (its root differs), so claiming it fails did_x509.
        byte[] cose = EndorsementSigner.sign(TestSigners.MEASUREMENT, 105, "ContainerPlat-AMD-UVM", signer.key(), signer.chain(), TrustedEndorser.MICROSOFT_UVM.did());
        EndorsementVerdict v = verify(cose, List.of(TrustedEndorser.MICROSOFT_UVM));
        assertEquals(Set.of("did_x509"), failed(v));
        assertTrue(TrustedEndorser.MICROSOFT_UVM.isMicrosoftUvm());
    }
}
