package dev.coffer.attest.endorse;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Garbage, truncation and oversize get an EndorsementFormatException with a precise message, and nothing else. */
class EndorsementFormatTest {
    static TestSigners signer;
    static byte[] genuine;

    @BeforeAll
    static void sign() {
        signer = TestSigners.ec384("CN=Signer", Duration.ofDays(365));
        genuine = signer.sign(TestSigners.MEASUREMENT, 5, "feed");
    }

    static String refused(byte[] cose) {
        try {
            GuestEndorsement.parse(cose);
        } catch (EndorsementFormatException e) {
            assertNotNull(e.getMessage());
            return e.getMessage();
        } catch (RuntimeException other) {
            fail("expected EndorsementFormatException, got " + other, other);
        }
        return fail("parsed: " + HexFormat.of().formatHex(cose, 0, Math.min(cose.length, 32)));
    }

    static void refused(byte[] cose, String expected) {
        String m = refused(cose);
        assertTrue(m.contains(expected), "message \"" + m + "\" lacks \"" + expected + '"');
    }

    static byte[] hex(String h) {
        return HexFormat.of().parseHex(h);
    }

    @Test
    void truncatedAtEveryLength() {
        for (int n = 0; n < genuine.length; n++) {
            String m = refused(Arrays.copyOf(genuine, n));
            assertTrue(m.contains("truncated") || m.contains("empty"), n + ": " + m);
        }
    }

    @Test
    void randomBitFlipsNeverEscapeAsAnotherException() {
        Random r = new Random(11);
        int parsed = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] t = genuine.clone();
            int flips = 1 + r.nextInt(3);
            for (int k = 0; k < flips; k++) t[r.nextInt(t.length)] ^= (byte) (1 << r.nextInt(8));
            try {
                GuestEndorsement.parse(t);
                parsed++;
            } catch (EndorsementFormatException expected) {
                assertFalse(expected.getMessage().isBlank());
            }
        }
        assertTrue(parsed < 3000);
    }

    @Test
    void garbage() {
        refused(new byte[0], "empty");
        refused("hello, world".getBytes(StandardCharsets.US_ASCII), "starts with byte 0x68; expected a COSE_Sign1 document");
        refused(hex("ff"), "");
        refused(hex("a0"), "expected a COSE_Sign1 document");
        refused(hex("d2"), "truncated");
        refused(hex("d2a0"), "expected an array of 4");
        refused(hex("d283404040"), "expected an array of 4");
        refused(hex("d1844040a040"), "expected a COSE_Sign1 document");
        refused(hex("d2d2844040a040"), "expected an array of 4");
        refused(hex("d2845f40ff404040"), "indefinite-length");
        refused(hex("d284f94000404040"), "floating-point");
        refused(hex("d21c"), "reserved");
        byte[] trailing = Arrays.copyOf(genuine, genuine.length + 1);
        refused(trailing, "1 trailing byte");
    }

    @Test
    void hugeLengthClaims() {
        refused(hex("d2845bffffffffffffffff"), "claiming 18446744073709551615 bytes");
        refused(hex("d2845b7fffffffffffffff"), "truncated");
        refused(hex("d2845a7fffffff"), "truncated");
        refused(hex("d29bffffffffffffffff"), "at most 64");
        refused(hex("d2987f"), "at most 64");
        refused(hex("d29840"), "truncated");
        byte[] deep = new byte[40];
        Arrays.fill(deep, (byte) 0x81);
        deep[0] = (byte) 0xd2;
        refused(deep, "nesting deeper");
        byte[] big = new byte[GuestEndorsement.MAX_DOCUMENT_BYTES + 1];
        big[0] = (byte) 0xd2;
        refused(big, "at most " + GuestEndorsement.MAX_DOCUMENT_BYTES);
    }

    @Test
    void hugeX5chain() throws Exception {
        byte[] der = signer.chain().getFirst().getEncoded();
        Cbor.Writer w = new Cbor.Writer().map(5).integer(1).integer(-35).integer(3).text("application/json").integer(33).array(9);
        for (int i = 0; i < 9; i++) w.bytes(der);
        byte[] h = w.text("iss").text(signer.did()).text("feed").text("f").toByteArray();
        refused(Cose.of(genuine).withHeader(h).encode(), "x5chain has 9 certificates; at most 8");

        byte[] oversized = new Cbor.Writer().map(5).integer(1).integer(-35).integer(3).text("application/json").integer(33)
                .bytes(new byte[GuestEndorsement.MAX_CERTIFICATE_BYTES + 1]).text("iss").text(signer.did()).text("feed").text("f").toByteArray();
        refused(Cose.of(genuine).withHeader(oversized).encode(), "at most " + GuestEndorsement.MAX_CERTIFICATE_BYTES);

        byte[] notCert = new Cbor.Writer().map(5).integer(1).integer(-35).integer(3).text("application/json").integer(33)
                .bytes(new byte[]{0x30, 0x03, 0x02, 0x01, 0x01}).text("iss").text(signer.did()).text("feed").text("f").toByteArray();
        refused(Cose.of(genuine).withHeader(notCert).encode(), "x5chain certificate 0 is not a DER X.509 certificate");

        byte[] empty = new Cbor.Writer().map(5).integer(1).integer(-35).integer(3).text("application/json").integer(33)
                .array(0).text("iss").text(signer.did()).text("feed").text("f").toByteArray();
        refused(Cose.of(genuine).withHeader(empty).encode(), "x5chain is empty");
    }

    @Test
    void singleBstrX5chainIsAccepted() throws Exception {
        byte[] h = new Cbor.Writer().map(5).integer(1).integer(-35).integer(3).text("application/json").integer(33)
                .bytes(signer.chain().getFirst().getEncoded()).text("iss").text(signer.did()).text("feed").text("f").toByteArray();
        GuestEndorsement e = GuestEndorsement.parse(Cose.of(genuine).withHeader(h).encode());
        assertEquals(1, e.chain().size());
    }

    @Test
    void protectedHeaderProblems() {
        Cose c = Cose.of(genuine);
        refused(c.withHeader(new byte[0]).encode(), "protected header is empty");
        refused(c.withHeader(hex("80")).encode(), "protected header is a array of 0; expected a map");
        refused(c.withHeader(hex("a10126a10126")).encode(), "trailing byte");
        refused(c.withHeader(hex("a201260126")).encode(), "duplicate map key 1");
        refused(c.withHeader(Cose.header(-36, signer.chain(), signer.did(), "f")).encode(), "alg is -36; expected one of ES256 (-7), ES384 (-35)");
        refused(c.withHeader(Cose.header(-35, signer.chain(), "did:web:example.com", "f")).encode(), "expected a did:x509");
        byte[] noFeed = new Cbor.Writer().map(3).integer(1).integer(-35).integer(3).text("application/json").integer(33).array(0).toByteArray();
        refused(c.withHeader(noFeed).encode(), "no protected header issuer (\"iss\")");
        byte[] noCty = new Cbor.Writer().map(1).integer(1).integer(-35).toByteArray();
        refused(c.withHeader(noCty).encode(), "no protected header content type (label 3)");
        byte[] cbor = new Cbor.Writer().map(2).integer(1).integer(-35).integer(3).text("application/cbor").toByteArray();
        refused(c.withHeader(cbor).encode(), "content type is \"application/cbor\"");
        byte[] algText = new Cbor.Writer().map(1).integer(1).text("ES384").toByteArray();
        refused(c.withHeader(algText).encode(), "alg (label 1) is a text string; expected an integer");
    }

    @Test
    void payloadProblems() {
        Cose c = Cose.of(genuine);
        refused(c.withPayload("not json").encode(), "payload is not valid JSON");
        refused(c.withPayload("[]").encode(), "not a JSON object");
        refused(c.withPayload("{}").encode(), "has no x-ms-sevsnpvm-launchmeasurement");
        refused(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":\"abcd\",\"x-ms-sevsnpvm-guestsvn\":\"1\"}").encode(), "expected 96 hex digits");
        refused(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":1,\"x-ms-sevsnpvm-guestsvn\":\"1\"}").encode(), "expected a hex string");
        String m = TestSigners.MEASUREMENT;
        refused(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":\"" + m + "\"}").encode(), "has no x-ms-sevsnpvm-guestsvn");
        refused(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":\"" + m + "\",\"x-ms-sevsnpvm-guestsvn\":\"-1\"}").encode(), "non-negative decimal");
        refused(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":\"" + m + "\",\"x-ms-sevsnpvm-guestsvn\":\"99999999999999999999\"}").encode(), "non-negative decimal");
        refused(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":\"" + m + "\",\"x-ms-sevsnpvm-launchmeasurement\":\"" + m + "\"}").encode(), "not valid JSON");
        refused(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":\"" + m + "\",\"x-ms-sevsnpvm-guestsvn\":\"1\"} {}").encode(), "not valid JSON");
        refused(c.withPayload("[".repeat(100)).encode(), "not valid JSON");
        refused(c.withPayload(" ".repeat(GuestEndorsement.MAX_PAYLOAD_BYTES + 1)).encode(), "at most " + GuestEndorsement.MAX_PAYLOAD_BYTES);
        byte[] detached = new Cbor.Writer().tag(18).array(4).bytes(c.protectedHeader()).map(0).toByteArray();
        detached = Arrays.copyOf(detached, detached.length + 1);
        detached[detached.length - 1] = (byte) 0xf6;
        detached = concat(detached, new Cbor.Writer().bytes(c.signature()).toByteArray());
        refused(detached, "detached");
        // A JSON integer SVN is read as well as Azure's decimal string.
        assertEquals(12, GuestEndorsement.parse(c.withPayload("{\"x-ms-sevsnpvm-launchmeasurement\":\"" + m + "\",\"x-ms-sevsnpvm-guestsvn\":12}").encode()).guestSvn());
    }

    @Test
    void cwtClaimsLayoutOfNewerUvmEndorsementsIsReadAndVerified() throws Exception {
        // ContainerPlat 0.2.10 on: CWT claims {1: iss, 2: feed, "svn": n}, preimage content type in 259, payload the raw measurement.
        byte[] measurement = java.util.HexFormat.of().parseHex(TestSigners.MEASUREMENT);
        Cbor.Writer w = new Cbor.Writer().map(4).integer(1).integer(-35).integer(15).map(3)
                .integer(1).text(signer.did()).integer(2).text("ContainerPlat-AMD-UVM").text("svn").integer(104)
                .integer(33).array(signer.chain().size());
        for (var cert : signer.chain()) w.bytes(cert.getEncoded());
        byte[] header = w.integer(259).text("application/json").toByteArray();
        java.security.Signature s = java.security.Signature.getInstance("SHA384withECDSAinP1363Format");
        s.initSign(signer.key());
        s.update(EndorsementSigner.sigStructure(header, measurement));
        byte[] cose = new Cose(header, measurement, s.sign()).encode();
        GuestEndorsement e = GuestEndorsement.parse(cose);
        assertEquals(signer.did(), e.issuer());
        assertEquals("ContainerPlat-AMD-UVM", e.feed());
        assertEquals(104, e.guestSvn());
        assertEquals(TestSigners.MEASUREMENT, e.launchMeasurement());
        EndorsementVerdict v = EndorsementVerifier.verify(e, TestSigners.MEASUREMENT, TestSigners.NOW, List.of(new TrustedEndorser(signer.did(), "ContainerPlat-AMD-UVM", 100)));
        assertTrue(v.endorsed(), v.summary());

        refused(new Cose(header, new byte[47], s.sign()).encode(), "expected the 48-byte launch measurement");
        byte[] noSvn = new Cbor.Writer().map(3).integer(1).integer(-35).integer(15).map(2).integer(1).text(signer.did()).integer(2).text("f")
                .integer(259).text("application/json").toByteArray();
        refused(new Cose(noSvn, measurement, new byte[96]).encode(), "CWT claim svn is missing");
        byte[] cwtNotMap = new Cbor.Writer().map(2).integer(1).integer(-35).integer(15).text("x").toByteArray();
        refused(new Cose(cwtNotMap, measurement, new byte[96]).encode(), "CWT claims (label 15) is a text string; expected a map");
    }

    @Test
    void didSyntax() {
        String fp = DidX509.fingerprint(signer.chain().getLast(), "sha256");
        for (String[] bad : List.of(
                new String[]{"did:web:x", "not a did:x509"},
                new String[]{"did:x509:1:sha256:" + fp + "::eku:1.2", "only version 0"},
                new String[]{"did:x509:0:md5:" + fp + "::eku:1.2", "expected sha256, sha384 or sha512"},
                new String[]{"did:x509:0:sha256:abc::eku:1.2", "is not 43 base64url characters"},
                new String[]{"did:x509:0:sha256:" + fp, "has no policy"},
                new String[]{"did:x509:0:sha256:" + fp + "::eku", "expected <name>:<value>"},
                new String[]{"did:x509:0:sha256:" + fp + "::subject:CN:a b", "must be percent-encoded"},
                new String[]{"did:x509:0:sha256:" + fp + "::subject:CN:a%2", "invalid percent-encoding"},
                new String[]{"did:x509:0:sha256:" + fp + "::subject:CN:a:", "empty segment"},
                new String[]{"did:x509:0:sha256", "expected version:alg:ca-fingerprint"})) {
            var e = assertThrows(EndorsementFormatException.class, () -> DidX509.parse(bad[0]), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
        DidX509 d = DidX509.parse("did:x509:0:sha256:" + fp + "::subject:CN:a%20b::eku:1.2.3");
        assertEquals(List.of(new DidX509.Policy("subject", "CN:a%20b"), new DidX509.Policy("eku", "1.2.3")), d.policies());
        assertEquals("a b", DidX509.percentDecode("a%20b"));
        assertThrows(EndorsementFormatException.class, () -> DidX509.percentDecode("a%2"));
        assertThrows(EndorsementFormatException.class, () -> DidX509.percentDecode("a%zz"));
        assertEquals("Test%20Org%2C%20Inc.", DidX509.percentEncode("Test Org, Inc."));
        assertEquals(DidX509.parse(TrustedEndorser.MICROSOFT_UVM.did()).caFingerprint(), "I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s");
    }

    @Test
    void trustedEndorserSpec() {
        TrustedEndorser t = TrustedEndorser.parse(signer.did() + ",coffer-guest,3");
        assertEquals(new TrustedEndorser(signer.did(), "coffer-guest", 3), t);
        assertNull(TrustedEndorser.parse(signer.did()).feed());
        assertThrows(EndorsementFormatException.class, () -> TrustedEndorser.parse("did:x509:nope,feed"));
        assertThrows(EndorsementFormatException.class, () -> TrustedEndorser.parse(signer.did() + ",f,x"));
        assertThrows(EndorsementFormatException.class, () -> TrustedEndorser.parse(signer.did() + ",f,1,2"));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
