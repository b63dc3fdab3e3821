package dev.coffer.attest.endorse;

import dev.coffer.attest.verify.CheckResult;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The endorsement verifier remembers COSE signatures, certificate links and did:x509 resolutions that succeeded:
 * a repeat is answered from memory, any altered byte is a miss verified from scratch, failures
 * are never remembered, and the memory is bounded. Each test signs with its own fresh key, so
 * no other test's entries are involved.
 */
class EndorsementVerifierCacheTest {
    static final String FEED = "coffer-guest";

    static byte[] digest(byte[] cose) {
        GuestEndorsement e = GuestEndorsement.parse(cose);
        return EndorsementVerifier.signatureDigest(e, EndorsementSigner.sigStructure(e.protectedHeader(), e.payload()));
    }

    static EndorsementVerdict verify(byte[] cose, String measurement, TestSigners signer) {
        return EndorsementVerifier.verify(GuestEndorsement.parse(cose), measurement, TestSigners.NOW, List.of(signer.trusted(FEED)));
    }

    static Set<String> failures(EndorsementVerdict v) {
        return v.failures().stream().map(CheckResult::name).collect(Collectors.toSet());
    }

    @Test
    void aRepeatedSignatureIsAHitAndStillEndorsed() {
        TestSigners signer = TestSigners.ec384("CN=Cache Hit,O=Test Org,C=US", Duration.ofDays(365));
        byte[] cose = signer.sign(TestSigners.MEASUREMENT, 5, FEED);
        assertFalse(EndorsementVerifier.VERIFIED_SIGNATURES.contains(digest(cose)), "a signature never seen is a miss");

        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());
        assertTrue(EndorsementVerifier.VERIFIED_SIGNATURES.contains(digest(cose)), "a verified signature is remembered");

        long hits = EndorsementVerifier.VERIFIED_SIGNATURES.hits();
        EndorsementVerdict again = verify(cose, TestSigners.MEASUREMENT, signer);
        assertTrue(again.endorsed(), again.summary());
        assertTrue(EndorsementVerifier.VERIFIED_SIGNATURES.hits() > hits, "the repeat is answered from memory");
        assertEquals(CheckResult.Status.PASS, again.check(EndorsementVerifier.SIGNATURE).orElseThrow().status());
    }

    @Test
    void theOtherChecksStillRunOnAHit() {
        TestSigners signer = TestSigners.ec384("CN=Cache Checks,O=Test Org,C=US", Duration.ofDays(30));
        byte[] cose = signer.sign(TestSigners.MEASUREMENT, 5, FEED);
        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());

        // Same document, another report's measurement: the signature is remembered, the measurement is not.
        assertEquals(Set.of(EndorsementVerifier.MEASUREMENT), failures(verify(cose, "b2".repeat(48), signer)));
        // Same document, after the leaf expired: the dates are judged at every call.
        EndorsementVerdict late = EndorsementVerifier.verify(GuestEndorsement.parse(cose), TestSigners.MEASUREMENT,
                TestSigners.NOW.plus(Duration.ofDays(400)), List.of(signer.trusted(FEED)));
        assertEquals(Set.of(EndorsementVerifier.CHAIN), failures(late));
        // Same document, its issuer no longer trusted.
        EndorsementVerdict untrusted = EndorsementVerifier.verify(GuestEndorsement.parse(cose), TestSigners.MEASUREMENT,
                TestSigners.NOW, List.of());
        assertEquals(Set.of(EndorsementVerifier.ISSUER_FEED, EndorsementVerifier.GUEST_SVN), failures(untrusted));
        // And a minimum SVN above the endorsement's.
        EndorsementVerdict old = EndorsementVerifier.verify(GuestEndorsement.parse(cose), TestSigners.MEASUREMENT,
                TestSigners.NOW, List.of(new TrustedEndorser(signer.did(), FEED, 6)));
        assertEquals(Set.of(EndorsementVerifier.GUEST_SVN), failures(old));
    }

    @Test
    void anAlteredPayloadAfterAHitFails() {
        TestSigners signer = TestSigners.ec384("CN=Cache Payload,O=Test Org,C=US", Duration.ofDays(365));
        byte[] cose = signer.sign(TestSigners.MEASUREMENT, 5, FEED);
        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());
        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());

        // One hex digit of the endorsed measurement changed, and the report claims the changed one.
        String payload = new String(Cose.of(cose).payload(), StandardCharsets.UTF_8);
        String altered = "a0" + "a1".repeat(47);
        byte[] tampered = Cose.of(cose).withPayload(payload.replace(TestSigners.MEASUREMENT, altered)).encode();
        assertNotEquals(payload, new String(Cose.of(tampered).payload(), StandardCharsets.UTF_8));
        EndorsementVerdict v = verify(tampered, altered, signer);
        assertFalse(v.endorsed());
        assertEquals(Set.of(EndorsementVerifier.SIGNATURE), failures(v));
        assertFalse(EndorsementVerifier.VERIFIED_SIGNATURES.contains(digest(tampered)), "a failure is never remembered");
        // Refused again on a second try: nothing about the failure was kept, and the genuine one still verifies.
        assertEquals(Set.of(EndorsementVerifier.SIGNATURE), failures(verify(tampered, altered, signer)));
        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());
    }

    @Test
    void anAlteredSignatureAfterAHitFails() {
        TestSigners signer = TestSigners.ec384("CN=Cache Signature,O=Test Org,C=US", Duration.ofDays(365));
        byte[] cose = signer.sign(TestSigners.MEASUREMENT, 5, FEED);
        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());
        Cose c = Cose.of(cose);
        for (int i : new int[] {0, 47, 48, 95}) {
            byte[] s = c.signature().clone();
            s[i] ^= 0x01;
            byte[] tampered = c.withSignature(s).encode();
            assertEquals(Set.of(EndorsementVerifier.SIGNATURE), failures(verify(tampered, TestSigners.MEASUREMENT, signer)), "byte " + i);
            assertFalse(EndorsementVerifier.VERIFIED_SIGNATURES.contains(digest(tampered)));
        }
    }

    @Test
    void theSameSignedBytesUnderAnotherKeyAreAMiss() {
        TestSigners signer = TestSigners.ec384("CN=Cache Key,O=Test Org,C=US", Duration.ofDays(365));
        TestSigners impostor = TestSigners.ec384("CN=Cache Key,O=Test Org,C=US", Duration.ofDays(365));
        byte[] cose = signer.sign(TestSigners.MEASUREMENT, 5, FEED);
        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());
        // The genuine payload and signature, presented with the impostor's chain and issuer.
        byte[] swapped = Cose.of(cose).withHeader(Cose.header(-35, impostor.chain(), impostor.did(), FEED)).encode();
        assertFalse(EndorsementVerifier.VERIFIED_SIGNATURES.contains(digest(swapped)));
        assertEquals(Set.of(EndorsementVerifier.SIGNATURE), failures(verify(swapped, TestSigners.MEASUREMENT, impostor)));
    }

    @Test
    void rsaPssSignaturesAreRememberedToo() {
        TestSigners signer = TestSigners.rsa("CN=Cache RSA,O=Test Org,C=US");
        byte[] cose = signer.sign(TestSigners.MEASUREMENT, 1, FEED);
        assertTrue(verify(cose, TestSigners.MEASUREMENT, signer).endorsed());
        assertTrue(EndorsementVerifier.VERIFIED_SIGNATURES.contains(digest(cose)));
        byte[] s = Cose.of(cose).signature().clone();
        s[s.length - 1] ^= 0x01;
        assertEquals(Set.of(EndorsementVerifier.SIGNATURE),
                failures(verify(Cose.of(cose).withSignature(s).encode(), TestSigners.MEASUREMENT, signer)));
    }

    @Test
    void certificateLinksAreRememberedOnlyWhenTheyVerify() {
        TestSigners signer = TestSigners.ec384("CN=Cache Link,O=Test Org,C=US", Duration.ofDays(365));
        TestSigners other = TestSigners.ec384("CN=Cache Link,O=Test Org,C=US", Duration.ofDays(365));
        var chain = signer.chain();
        byte[] link;
        try {
            link = VerifiedDigests.of(chain.get(0).getEncoded(), chain.get(1).getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new AssertionError(e);
        }
        assertEquals(CheckResult.Status.PASS, EndorsementVerifier.chain(chain, TestSigners.NOW).status());
        assertTrue(EndorsementVerifier.VERIFIED_LINKS.contains(link));
        // The leaf under another CA of the same name: a different link, verified, refused.
        var crossed = List.of(chain.get(0), other.chain().get(1));
        assertEquals(CheckResult.Status.FAIL, EndorsementVerifier.chain(crossed, TestSigners.NOW).status());
        assertEquals(CheckResult.Status.FAIL, EndorsementVerifier.chain(crossed, TestSigners.NOW).status());
    }

    @Test
    void issuerResolutionsAreRememberedAndAnotherIssuerOrChainIsAMiss() {
        TestSigners signer = TestSigners.ec384("CN=Cache DID,O=Test Org,C=US", Duration.ofDays(365));
        TestSigners other = TestSigners.ec384("CN=Cache DID,O=Test Org,C=US", Duration.ofDays(365));
        GuestEndorsement e = GuestEndorsement.parse(signer.sign(TestSigners.MEASUREMENT, 5, FEED));
        assertFalse(EndorsementVerifier.RESOLVED_ISSUERS.contains(EndorsementVerifier.issuerDigest(e)));
        assertEquals(CheckResult.Status.PASS, EndorsementVerifier.didX509(e).status());
        assertTrue(EndorsementVerifier.RESOLVED_ISSUERS.contains(EndorsementVerifier.issuerDigest(e)));
        long hits = EndorsementVerifier.RESOLVED_ISSUERS.hits();
        assertEquals(CheckResult.Status.PASS, EndorsementVerifier.didX509(e).status());
        assertTrue(EndorsementVerifier.RESOLVED_ISSUERS.hits() > hits);

        // After the hit: the same chain claiming another CA's did:x509 does not resolve, twice.
        byte[] forged = Cose.of(signer.sign(TestSigners.MEASUREMENT, 5, FEED))
                .withHeader(Cose.header(-35, signer.chain(), other.did(), FEED)).encode();
        GuestEndorsement f = GuestEndorsement.parse(forged);
        for (int i = 0; i < 2; i++) {
            CheckResult r = EndorsementVerifier.didX509(f);
            assertEquals(CheckResult.Status.FAIL, r.status(), r.detail());
            assertTrue(r.detail().contains("does not resolve"), r.detail());
        }
        assertFalse(EndorsementVerifier.RESOLVED_ISSUERS.contains(EndorsementVerifier.issuerDigest(f)));
        // The genuine issuer over another CA's chain: a different digest, refused.
        byte[] swapped = Cose.of(signer.sign(TestSigners.MEASUREMENT, 5, FEED))
                .withHeader(Cose.header(-35, other.chain(), signer.did(), FEED)).encode();
        assertEquals(CheckResult.Status.FAIL, EndorsementVerifier.didX509(GuestEndorsement.parse(swapped)).status());
    }

    @Test
    void theMemoryIsBounded() {
        VerifiedDigests d = new VerifiedDigests(3);
        for (int i = 0; i < 10; i++) {
            byte[] x = VerifiedDigests.of(new byte[] {(byte) i});
            d.add(x);
            assertTrue(d.size() <= 3, "size " + d.size() + " after " + (i + 1) + " additions");
            assertTrue(d.contains(x), "the latest addition is kept");
        }
        assertThrows(IllegalArgumentException.class, () -> new VerifiedDigests(0));
    }

    @Test
    void theDigestSeparatesItsParts() {
        // A byte moved from one part to the next is another input.
        assertFalse(java.util.Arrays.equals(VerifiedDigests.of(new byte[] {1, 2}, new byte[] {3}),
                VerifiedDigests.of(new byte[] {1}, new byte[] {2, 3})));
    }
}
