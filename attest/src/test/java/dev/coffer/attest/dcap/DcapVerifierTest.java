package dev.coffer.attest.dcap;

import dev.coffer.attest.dcap.IntelTestData.Expected;
import dev.coffer.attest.verify.CheckResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Real quotes verify against the pinned root and real collateral; every tampering is refused by the check it breaks. */
class DcapVerifierTest {
    static final List<Expected> QUOTES = IntelTestData.QUOTES;
    private static final DcapVerifier VERIFIER = new DcapVerifier();

    private static void passes(DcapVerdict v, String check) {
        CheckResult c = v.check(check).orElseThrow(() -> new AssertionError("no check " + check));
        assertEquals(CheckResult.Status.PASS, c.status(), check + ": " + c.detail());
    }

    private static String fails(DcapVerdict v, String check) {
        CheckResult c = v.check(check).orElseThrow(() -> new AssertionError("no check " + check));
        assertEquals(CheckResult.Status.FAIL, c.status(), check + " should fail: " + c.detail());
        assertFalse(v.valid());
        return c.detail();
    }

    @ParameterizedTest
    @FieldSource("QUOTES")
    void signaturesBindingAndChainVerifyForEveryCapturedQuote(Expected e) {
        DcapQuote q = IntelTestData.quote(e.file());
        // A day after the PCK leaf was issued: inside every certificate's window (Intel CAs last to 2033).
        Instant at = q.pckChain().getFirst().getNotBefore().toInstant().plusSeconds(86_400);
        DcapVerdict v = VERIFIER.verifyWithoutCollateral(q, at);
        for (String c : List.of("qe_vendor", "quote_signature", "qe_report_binding", "qe_report_signature", "pck_chain", "pck_extensions",
                "certificate_validity")) {
            passes(v, c);
        }
        assertEquals(e.fmspc(), v.pck().orElseThrow().fmspcHex());
        // Without collateral no TCB level can be matched, so the verdict is not valid.
        assertTrue(fails(v, "tcb_status").contains("no collateral"));
    }

    @Test
    void tdxQuoteWithGoTdxGuestCollateralIsUpToDate() {
        DcapQuote q = IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat");
        DcapVerdict v = VERIFIER.verify(q, IntelTestData.collateral2023(), IntelTestData.AT_2023);
        assertTrue(v.valid(), v.summary());
        assertEquals(TcbStatus.UP_TO_DATE, v.tcbStatus().orElseThrow());
        assertEquals(TcbStatus.UP_TO_DATE, v.tcb().orElseThrow().qeStatus().orElseThrow());
        for (String c : List.of("revocation", "tcb_info_signature", "tcb_info_validity", "qe_identity_signature", "qe_identity_validity",
                "collateral_match", "tcb_status")) {
            passes(v, c);
        }
    }

    @Test
    void sprQuoteMatchesNoTcbLevelAsProvenanceSays() {
        DcapQuote q = IntelTestData.quote(IntelTestData.GO + "tdx_prod_quote_SPR_E4.dat");
        DcapVerdict v = VERIFIER.verify(q, IntelTestData.collateral2023(), IntelTestData.AT_2023);
        passes(v, "tcb_info_signature");
        passes(v, "revocation");
        assertTrue(fails(v, "tcb_status").contains("no TCB level"));
        assertTrue(v.tcbStatus().isEmpty());
    }

    @Test
    void expiredCollateralIsRefusedByItsWindow() {
        DcapQuote q = IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat");
        DcapVerdict later = VERIFIER.verify(q, IntelTestData.collateral2023(), Instant.parse("2023-08-01T00:00:00Z"));
        assertTrue(fails(later, "tcb_info_validity").contains("expired"));
        assertTrue(fails(later, "qe_identity_validity").contains("expired"));
        assertTrue(fails(later, "revocation").contains("PCK CRL is valid"));
        // After 2025-05-21 the TCB Signing certificate of this chain has itself expired.
        DcapVerdict muchLater = VERIFIER.verify(q, IntelTestData.collateral2023(), Instant.parse("2025-06-01T00:00:00Z"));
        assertTrue(fails(muchLater, "certificate_validity").contains("Intel SGX TCB Signing"));
        DcapVerdict before = VERIFIER.verify(q, IntelTestData.collateral2023(), Instant.parse("2023-06-10T00:00:00Z"));
        assertTrue(fails(before, "tcb_info_validity").contains("issued after"));
    }

    @Test
    void tcbInfoForAnotherFmspcIsRefused() {
        DcapQuote q = IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_6.dat"); // fmspc 00a06d080000
        DcapVerdict v = VERIFIER.verify(q, IntelTestData.collateral2023(), IntelTestData.AT_2023);
        String d = fails(v, "collateral_match");
        assertTrue(d.contains("FMSPC 50806f000000") && d.contains("00a06d080000"), d);
    }

    @Test
    void tdxCollateralForAnSgxQuoteIsRefused() {
        DcapQuote q = IntelTestData.quote("intel/sgx-trustee/occlum_quote.dat");
        DcapVerdict v = VERIFIER.verify(q, IntelTestData.collateral2023(), IntelTestData.AT_2023);
        String d = fails(v, "collateral_match");
        assertTrue(d.contains("TCB info is for TDX") && d.contains("needs QE"), d);
    }

    @Test
    void editedTcbInfoFailsItsSignature() {
        String response = IntelTestData.text(IntelTestData.GO + "sample_tcbInfo_response");
        // Same JSON meaning, other bytes: PCS signs the text, so even whitespace breaks it.
        Collateral c = IntelTestData.collateral(response.replace("\"version\":3", "\"version\": 3"),
                IntelTestData.text(IntelTestData.GO + "sample_qeIdentity_response"));
        DcapVerdict v = VERIFIER.verify(IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat"), c, IntelTestData.AT_2023);
        assertTrue(fails(v, "tcb_info_signature").contains("does not verify"));
        Collateral q = IntelTestData.collateral(response, IntelTestData.text(IntelTestData.GO + "sample_qeIdentity_response")
                .replace("\"isvsvn\":4", "\"isvsvn\":0"));
        assertTrue(fails(VERIFIER.verify(IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat"), q, IntelTestData.AT_2023),
                "qe_identity_signature").contains("does not verify"));
    }

    @Test
    void bundleRoundTripsAndVerifiesTheSame() {
        Collateral c = IntelTestData.collateral2023();
        Collateral back = Collateral.parseBundle(c.toBundleJson());
        DcapVerdict v = VERIFIER.verify(IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat"), back, IntelTestData.AT_2023);
        assertTrue(v.valid(), v.summary());
    }

    @Test
    void garbageBundlesAreRefusedPrecisely() {
        assertTrue(assertThrows(QuoteFormatException.class, () -> Collateral.parseBundle("{not json")).getMessage().contains("not valid JSON"));
        assertTrue(assertThrows(QuoteFormatException.class, () -> Collateral.parseBundle("[]")).getMessage().contains("JSON object"));
        assertTrue(assertThrows(QuoteFormatException.class, () -> Collateral.parseBundle("{}")).getMessage().contains("pck_crl_issuer_chain"));
        String good = IntelTestData.collateral2023().toBundleJson();
        String badHex = good.replaceFirst("\"pck_crl\" : \"[0-9a-f]{4}", "\"pck_crl\" : \"zz");
        assertTrue(assertThrows(QuoteFormatException.class, () -> Collateral.parseBundle(badHex)).getMessage().contains("pck_crl"));
        String shortSig = good.replaceFirst("\"tcb_info_signature\" : \"[0-9a-f]{2}", "\"tcb_info_signature\" : \"");
        assertTrue(assertThrows(QuoteFormatException.class, () -> Collateral.parseBundle(shortSig)).getMessage().contains("64 bytes"));
    }

    /** Flips one bit in each region the brief names and checks the check that must catch it. */
    @Test
    void flippedBytesAreCaughtByTheRightCheck() {
        byte[] raw = IntelTestData.bytes(IntelTestData.TRUSTEE + "tdx_quote_4.dat");
        DcapQuote good = DcapQuote.parse(raw);
        Collateral c = IntelTestData.collateral2023();
        int sigData = good.signedLength() + 4;
        int qeReport = sigData + 128 + 6;
        record Flip(int offset, String check) {}
        for (Flip f : List.of(new Flip(0 + 12, "quote_signature"), new Flip(QuoteHeader.LENGTH + 136, "quote_signature"),
                new Flip(QuoteHeader.LENGTH + 520, "quote_signature"), new Flip(sigData + 3, "quote_signature"),
                new Flip(sigData + 64 + 5, "quote_signature"), new Flip(qeReport + 64, "qe_report_signature"),
                new Flip(qeReport + 320, "qe_report_binding"), new Flip(qeReport + EnclaveReport.LENGTH + 7, "qe_report_signature"))) {
            byte[] t = raw.clone();
            t[f.offset()] ^= 0x01;
            DcapVerdict v = VERIFIER.verify(DcapQuote.parse(t), c, IntelTestData.AT_2023);
            fails(v, f.check());
        }
    }

    /** For every captured quote, one flipped bit in every signed byte and in every QE report byte is refused. */
    @ParameterizedTest
    @FieldSource("QUOTES")
    void everySignedByteAndEveryQeReportByteIsCovered(Expected e) {
        byte[] raw = IntelTestData.bytes(e.file());
        DcapQuote good = DcapQuote.parse(raw);
        Instant at = good.pckChain().getFirst().getNotBefore().toInstant().plusSeconds(86_400);
        int refused = 0;
        for (int i = 0; i < good.signedLength(); i++) {
            byte[] t = raw.clone();
            t[i] ^= (byte) 0x01;
            if (refusedAt(t, at, "quote_signature")) refused++;
        }
        assertEquals(good.signedLength(), refused, "every signed byte");
        int qeReport = good.signedLength() + 4 + 128 + (good.header().version() == 3 ? 0 : 6);
        for (int i = 0; i < EnclaveReport.LENGTH + 64; i++) {
            byte[] t = raw.clone();
            t[qeReport + i] ^= (byte) 0x01;
            assertTrue(refusedAt(t, at, "qe_report_signature"), "QE report/signature byte " + i);
        }
    }

    /** True when the bytes do not parse, or verification fails {@code check} (or the vendor check, for the header's vendor ID). */
    private static boolean refusedAt(byte[] t, Instant at, String check) {
        DcapQuote q;
        try {
            q = DcapQuote.parse(t);
        } catch (QuoteFormatException ex) {
            return true;
        }
        DcapVerdict v = VERIFIER.verifyWithoutCollateral(q, at);
        return v.check(check).orElseThrow().failed() || v.check("qe_vendor").orElseThrow().failed();
    }

    @Test
    void aChainToAnotherRootIsRefused() throws Exception {
        // The TCB Signing certificate stands in for "some other root": the quote's chain does not end there.
        java.security.cert.X509Certificate other = Collateral.parseBundle(IntelTestData.collateral2023().toBundleJson())
                .tcbInfoIssuerChain().getFirst();
        DcapVerifier elsewhere = new DcapVerifier(other);
        DcapVerdict v = elsewhere.verifyWithoutCollateral(IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat"), IntelTestData.AT_2023);
        assertTrue(fails(v, "pck_chain").contains("not the pinned Intel SGX Root CA"));
    }

    @Test
    void aForgedRootWithIntelsNameIsRefused() throws Exception {
        var kpg = java.security.KeyPairGenerator.getInstance("EC");
        kpg.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        var kp = kpg.generateKeyPair();
        var name = new org.bouncycastle.asn1.x500.X500Name("CN=Intel SGX Root CA,O=Intel Corporation,L=Santa Clara,ST=CA,C=US");
        var builder = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(name, java.math.BigInteger.ONE,
                java.util.Date.from(Instant.parse("2018-01-01T00:00:00Z")), java.util.Date.from(Instant.parse("2049-01-01T00:00:00Z")), name, kp.getPublic());
        var cert = new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(
                builder.build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
        byte[] raw = IntelTestData.bytes(IntelTestData.TRUSTEE + "tdx_quote_4.dat");
        DcapQuote q = DcapQuote.parse(raw);
        // Replace the quote's root PEM by the forged one of the same name (sizes differ, so rebuild via the record).
        List<java.security.cert.X509Certificate> chain = List.of(q.pckChain().get(0), q.pckChain().get(1), cert);
        DcapQuote forged = new DcapQuote(q.header(), q.body(), q.signedLength(), q.signature(), q.attestationKey(), q.qeReport(),
                q.qeReportSignature(), q.qeAuthData(), q.certificationDataType(), chain, q.trailingBytes(), q.raw());
        assertTrue(fails(VERIFIER.verifyWithoutCollateral(forged, IntelTestData.AT_2023), "pck_chain").contains("not the pinned"));
    }
}
