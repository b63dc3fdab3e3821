package dev.coffer.attest.dcap;

import dev.coffer.attest.verify.CheckResult;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Revoked and expired PCKs and wrongly signed CRLs, which the captured data cannot show: a real
 * quote and real collateral re-signed by {@link SyntheticPki}. The unmodified re-signed quote
 * must verify first, or the negative cases would prove nothing.
 */
class RevocationAndExpiryTest {
    private static final Instant AT = IntelTestData.AT_2023;

    private static DcapQuote real() {
        return IntelTestData.quote(IntelTestData.TRUSTEE + "tdx_quote_4.dat");
    }

    @Test
    void resignedQuoteAndCollateralVerifyUpToDate() throws Exception {
        SyntheticPki pki = new SyntheticPki();
        pki.issuePck(real().pckChain().getFirst(), SyntheticPki.FROM, SyntheticPki.TO);
        DcapQuote q = DcapQuote.parse(pki.resign(real()));
        DcapVerdict v = pki.verifier().verify(q, pki.collateral(IntelTestData.collateral2023(), List.of(), List.of(), pki.platformKey), AT);
        assertTrue(v.valid(), v.summary());
        assertEquals(TcbStatus.UP_TO_DATE, v.tcbStatus().orElseThrow());
        // And the pinned Intel root refuses the same quote.
        assertTrue(new DcapVerifier().verify(q, IntelTestData.collateral2023(), AT).check("pck_chain").orElseThrow().failed());
    }

    @Test
    void revokedPckIsRefused() throws Exception {
        SyntheticPki pki = new SyntheticPki();
        pki.issuePck(real().pckChain().getFirst(), SyntheticPki.FROM, SyntheticPki.TO);
        DcapQuote q = DcapQuote.parse(pki.resign(real()));
        DcapVerdict v = pki.verifier().verify(q, pki.collateral(IntelTestData.collateral2023(), List.of(BigInteger.valueOf(100)), List.of(),
                pki.platformKey), AT);
        assertFalse(v.valid());
        CheckResult r = v.check("revocation").orElseThrow();
        assertTrue(r.failed() && r.detail().contains("PCK certificate (serial 64) is revoked"), r.detail());
    }

    @Test
    void revokedPlatformCaIsRefused() throws Exception {
        SyntheticPki pki = new SyntheticPki();
        pki.issuePck(real().pckChain().getFirst(), SyntheticPki.FROM, SyntheticPki.TO);
        DcapQuote q = DcapQuote.parse(pki.resign(real()));
        DcapVerdict v = pki.verifier().verify(q, pki.collateral(IntelTestData.collateral2023(), List.of(), List.of(BigInteger.TWO),
                pki.platformKey), AT);
        CheckResult r = v.check("revocation").orElseThrow();
        assertTrue(r.failed() && r.detail().contains("revoked by the root CA CRL"), r.detail());
    }

    @Test
    void pckCrlSignedByAnotherKeyIsRefused() throws Exception {
        SyntheticPki pki = new SyntheticPki();
        pki.issuePck(real().pckChain().getFirst(), SyntheticPki.FROM, SyntheticPki.TO);
        DcapQuote q = DcapQuote.parse(pki.resign(real()));
        DcapVerdict v = pki.verifier().verify(q, pki.collateral(IntelTestData.collateral2023(), List.of(), List.of(), SyntheticPki.ec()), AT);
        CheckResult r = v.check("revocation").orElseThrow();
        assertTrue(r.failed() && r.detail().contains("PCK CRL signature does not verify"), r.detail());
    }

    @Test
    void expiredPckIsRefused() throws Exception {
        SyntheticPki pki = new SyntheticPki();
        pki.issuePck(real().pckChain().getFirst(), SyntheticPki.FROM, Instant.parse("2023-06-01T00:00:00Z"));
        DcapQuote q = DcapQuote.parse(pki.resign(real()));
        DcapVerdict v = pki.verifier().verify(q, pki.collateral(IntelTestData.collateral2023(), List.of(), List.of(), pki.platformKey), AT);
        CheckResult r = v.check("certificate_validity").orElseThrow();
        assertTrue(r.failed() && r.detail().contains("Intel SGX PCK Certificate is valid"), r.detail());
        // The captured PCK expires too: tdx_quote_4's leaf is valid to 2030-02-07.
        DcapVerdict late = new DcapVerifier().verifyWithoutCollateral(real(), Instant.parse("2030-03-01T00:00:00Z"));
        assertTrue(late.check("certificate_validity").orElseThrow().detail().contains("Intel SGX PCK Certificate"));
    }
}
