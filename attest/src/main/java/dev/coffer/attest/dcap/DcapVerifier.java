package dev.coffer.attest.dcap;

import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.CheckResult.Status;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Verifies Intel DCAP quotes (SGX v3, TDX v4/v5) against the pinned Intel SGX Root CA and PCS
 * collateral, at a given instant: the attestation key's signature over header and body, the QE
 * report signed by the PCK leaf and binding the attestation key, the PCK chain and its CRLs, the
 * collateral's chains, signatures and validity windows, and the TCB status as QVL computes it.
 *
 * <p>Thread-safe. The verification time is always passed in: collateral is only ever valid for
 * a window, and tests and offline audits verify at the time evidence was taken. Signature
 * results on certificates, CRLs and collateral (not on quotes) are cached by content digest, so
 * a server verifying many quotes from few platforms pays for those once; every validity window
 * is still checked against the given time on every call.
 */
public final class DcapVerifier {
    private static final HexFormat HEX = HexFormat.of();
    private static final ECParameterSpec P256 = ((ECPublicKey) IntelRoots.sgxRootCa().getPublicKey()).getParams();

    /** Bound on cached entries: a flood of distinct chains cannot grow memory without limit. */
    private static final int CACHE_LIMIT = 4096;
    private final X509Certificate root;
    private final java.util.Map<String, CheckResult> signatureCache = new java.util.concurrent.ConcurrentHashMap<>();

    /** A verifier trusting only Intel's pinned SGX Root CA. */
    public DcapVerifier() {
        this.root = IntelRoots.sgxRootCa();
    }

    /** For tests: a verifier anchored elsewhere, to show a quote chaining to another root is refused. */
    DcapVerifier(X509Certificate root) {
        this.root = root;
    }

    /** Checks signatures and chains only; the verdict is invalid because no TCB level was evaluated. */
    public DcapVerdict verifyWithoutCollateral(DcapQuote quote, Instant at) {
        return verify(quote, Optional.empty(), at);
    }

    public DcapVerdict verify(DcapQuote quote, Collateral collateral, Instant at) {
        return verify(quote, Optional.of(collateral), at);
    }

    private DcapVerdict verify(DcapQuote quote, Optional<Collateral> collateral, Instant at) {
        List<CheckResult> checks = new ArrayList<>(16);
        checks.add(HEX.formatHex(quote.header().qeVendorId()).equals(QuoteHeader.INTEL_QE_VENDOR)
                ? pass("qe_vendor", "Intel quoting enclave")
                : fail("qe_vendor", "QE vendor ID " + HEX.formatHex(quote.header().qeVendorId()) + " is not Intel's "
                + QuoteHeader.INTEL_QE_VENDOR + "; only Intel's QE is trusted"));

        checks.add(ecdsa(rawKey(quote.attestationKey()), quote.raw(), 0, quote.signedLength(), quote.signature())
                ? pass("quote_signature", "ECDSA P-256 signature by the attestation key over header and body verifies")
                : fail("quote_signature", "the attestation key's signature over header and body does not verify: the quote was altered"));

        byte[] expectedBinding = sha256(quote.attestationKey(), quote.qeAuthData());
        byte[] rd = quote.qeReport().reportData();
        boolean bound = MessageDigest.isEqual(Arrays.copyOf(rd, 32), expectedBinding)
                && Arrays.equals(Arrays.copyOfRange(rd, 32, 64), new byte[32]);
        checks.add(bound ? pass("qe_report_binding", "QE REPORTDATA = SHA-256(attestation key ‖ QE auth data) ‖ zeros")
                : fail("qe_report_binding", "QE REPORTDATA " + HEX.formatHex(rd).substring(0, 64) + "… is not SHA-256(attestation key ‖ QE auth data) "
                + HEX.formatHex(expectedBinding) + " followed by 32 zero bytes: the attestation key is not the one the QE certified"));

        List<X509Certificate> chain = quote.pckChain();
        X509Certificate leaf = chain.getFirst();
        checks.add(verifyQuietly(() -> ecdsa(leaf.getPublicKey(), quote.qeReport().raw(), 0, EnclaveReport.LENGTH, quote.qeReportSignature()))
                ? pass("qe_report_signature", "the QE report is signed by the PCK leaf")
                : fail("qe_report_signature", "the QE report's signature does not verify with the PCK leaf's key: the QE report was altered or the PCK is not this platform's"));

        Optional<X509Certificate> pckCa = chain.size() >= 2 ? Optional.of(chain.get(1)) : Optional.empty();
        checks.add(chainCheck("pck_chain", chain, "PCK"));

        Optional<PckExtensions> pck = Optional.empty();
        try {
            pck = Optional.of(PckExtensions.of(leaf));
            checks.add(pass("pck_extensions", "FMSPC " + pck.get().fmspcHex() + ", PCE ID " + pck.get().pceIdHex() + ", PCESVN " + pck.get().pceSvn()));
        } catch (QuoteFormatException e) {
            checks.add(fail("pck_extensions", e.getMessage()));
        }

        List<String> expired = new ArrayList<>();
        List<X509Certificate> dated = new ArrayList<>(chain);
        collateral.ifPresent(c -> {
            dated.addAll(c.tcbInfoIssuerChain());
            dated.addAll(c.qeIdentityIssuerChain());
            dated.addAll(c.pckCrlIssuerChain());
        });
        for (X509Certificate c : dated.stream().distinct().toList()) {
            if (at.isBefore(c.getNotBefore().toInstant()) || at.isAfter(c.getNotAfter().toInstant())) {
                expired.add(cn(c) + " is valid " + c.getNotBefore().toInstant() + " .. " + c.getNotAfter().toInstant());
            }
        }
        checks.add(expired.isEmpty() ? pass("certificate_validity", "every certificate is valid at " + at)
                : fail("certificate_validity", "at " + at + ": " + String.join("; ", expired)));

        Optional<TcbEvaluation> tcb = Optional.empty();
        if (collateral.isEmpty()) {
            checks.add(skip("collateral", "no PCS collateral given: revocation, TCB info and QE identity were not checked"));
            checks.add(fail("tcb_status", "no collateral, so no TCB level could be matched; pass the PCS collateral bundle"));
        } else {
            Collateral c = collateral.get();
            checks.add(revocation(c, chain, pckCa, at));
            checks.add(signedCollateral("tcb_info_signature", "TCB info", c.tcbInfoIssuerChain(), c.tcbInfo().raw(), c.tcbInfoSignature()));
            checks.add(window("tcb_info_validity", "TCB info", c.tcbInfo().issueDate(), c.tcbInfo().nextUpdate(), at));
            checks.add(signedCollateral("qe_identity_signature", "QE identity", c.qeIdentityIssuerChain(), c.qeIdentity().raw(), c.qeIdentitySignature()));
            checks.add(window("qe_identity_validity", "QE identity", c.qeIdentity().issueDate(), c.qeIdentity().nextUpdate(), at));
            checks.add(collateralMatch(quote, c, pck));
            if (pck.isPresent()) {
                TcbEvaluation e = TcbEvaluator.evaluate(c.tcbInfo(), pck.get(),
                        quote.body() instanceof TdReport td ? Optional.of(td) : Optional.empty(), c.qeIdentity(), quote.qeReport());
                tcb = Optional.of(e);
                checks.add(e.matched()
                        ? pass("tcb_status", e.status().get().pcsName() + " (" + e.detail() + ")"
                        + (e.advisoryIds().isEmpty() ? "" : ", advisories " + String.join(",", e.advisoryIds())))
                        : fail("tcb_status", String.join("; ", e.problems())));
            } else {
                checks.add(fail("tcb_status", "the PCK certificate's SGX extensions could not be read, so no TCB level can be matched"));
            }
        }
        boolean valid = checks.stream().noneMatch(CheckResult::failed);
        return new DcapVerdict(valid, quote, pck, tcb, at, checks);
    }

    /** {@code chain} leaf first, must end at (or below) the pinned root; each link's signature verified (cached). */
    private CheckResult chainCheck(String name, List<X509Certificate> chain, String what) {
        StringBuilder key = new StringBuilder(name).append(':').append(IntelRoots.fingerprint(root));
        for (X509Certificate c : chain) key.append(IntelRoots.fingerprint(c));
        return cached(key.toString(), () -> uncachedChainCheck(name, chain, what));
    }

    private CheckResult cached(String key, java.util.function.Supplier<CheckResult> compute) {
        CheckResult r = signatureCache.get(key);
        if (r != null) return r;
        r = compute.get();
        if (signatureCache.size() >= CACHE_LIMIT) signatureCache.clear();
        signatureCache.put(key, r);
        return r;
    }

    private CheckResult uncachedChainCheck(String name, List<X509Certificate> chain, String what) {
        List<X509Certificate> links = new ArrayList<>(chain);
        X509Certificate last = links.getLast();
        if (last.getSubjectX500Principal().equals(last.getIssuerX500Principal())) {
            if (!Arrays.equals(encoded(last), encoded(root))) {
                return fail(name, what + " chain ends at '" + cn(last) + "' (sha256 " + IntelRoots.fingerprint(last)
                        + "), which is not the pinned Intel SGX Root CA " + IntelRoots.ROOT_SHA256);
            }
            links.removeLast();
        }
        links.add(root);
        List<String> path = new ArrayList<>();
        for (int i = 0; i + 1 < links.size(); i++) {
            X509Certificate child = links.get(i), issuer = links.get(i + 1);
            if (!child.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
                return fail(name, what + " chain: '" + cn(child) + "' is issued by '" + child.getIssuerX500Principal().getName()
                        + "' but the next certificate is '" + cn(issuer) + "'; expected leaf first, then its CA, then the root");
            }
            try {
                child.verify(issuer.getPublicKey());
            } catch (GeneralSecurityException e) {
                return fail(name, what + " chain: the signature on '" + cn(child) + "' does not verify with '" + cn(issuer) + "': " + e.getMessage());
            }
            path.add(cn(child));
        }
        path.add(cn(root) + " (pinned)");
        return pass(name, String.join(" → ", path));
    }

    private CheckResult revocation(Collateral c, List<X509Certificate> chain, Optional<X509Certificate> pckCa, Instant at) {
        List<String> problems = new ArrayList<>();
        CheckResult crlChain = chainCheck("crl_chain", c.pckCrlIssuerChain(), "PCK CRL issuer");
        if (crlChain.failed()) problems.add(crlChain.detail());
        X509Certificate crlIssuer = c.pckCrlIssuerChain().getFirst();
        if (pckCa.isEmpty() || !crlIssuer.getSubjectX500Principal().equals(pckCa.get().getSubjectX500Principal())) {
            problems.add("the PCK CRL is issued by '" + cn(crlIssuer) + "' but the PCK's CA is '" + pckCa.map(DcapVerifier::cn).orElse("?")
                    + "'; fetch the CRL for ca=" + (pckCa.map(DcapVerifier::cn).orElse("?").contains("Processor") ? "processor" : "platform"));
        }
        problems.addAll(crlProblems(c.pckCrl(), crlIssuer, "PCK CRL", at));
        problems.addAll(crlProblems(c.rootCaCrl(), root, "root CA CRL", at));
        if (problems.isEmpty()) {
            if (c.pckCrl().isRevoked(chain.getFirst())) problems.add("the PCK certificate (serial " + chain.getFirst().getSerialNumber().toString(16) + ") is revoked by the PCK CRL");
            pckCa.ifPresent(ca -> {
                if (c.rootCaCrl().isRevoked(ca)) problems.add("the PCK CA '" + cn(ca) + "' is revoked by the root CA CRL");
            });
            for (X509Certificate signer : List.of(c.tcbInfoIssuerChain().getFirst(), c.qeIdentityIssuerChain().getFirst())) {
                if (c.rootCaCrl().isRevoked(signer)) problems.add("'" + cn(signer) + "' is revoked by the root CA CRL");
            }
        }
        return problems.isEmpty()
                ? pass("revocation", "PCK and its CA not revoked (PCK CRL " + c.pckCrl().getThisUpdate().toInstant() + ", root CA CRL "
                + c.rootCaCrl().getThisUpdate().toInstant() + ")")
                : fail("revocation", String.join("; ", problems));
    }

    private List<String> crlProblems(X509CRL crl, X509Certificate issuer, String what, Instant at) {
        List<String> p = new ArrayList<>();
        if (!crl.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            p.add(what + " is issued by '" + crl.getIssuerX500Principal().getName() + "', expected '" + cn(issuer) + "'");
            return p;
        }
        String key;
        try {
            key = "crl:" + HEX.formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(crl.getEncoded())) + IntelRoots.fingerprint(issuer);
        } catch (GeneralSecurityException e) {
            key = null;
        }
        CheckResult sig = key == null ? crlSignature(crl, issuer, what) : cached(key, () -> crlSignature(crl, issuer, what));
        if (sig.failed()) p.add(sig.detail());
        Instant from = crl.getThisUpdate().toInstant();
        Instant to = crl.getNextUpdate() == null ? Instant.MAX : crl.getNextUpdate().toInstant();
        if (!TcbEvaluator.within(at, from, to)) p.add(what + " is valid " + from + " .. " + to + ", not at " + at + "; fetch a current one");
        return p;
    }

    private CheckResult crlSignature(X509CRL crl, X509Certificate issuer, String what) {
        try {
            crl.verify(issuer.getPublicKey());
            return pass("crl_signature", what + " signed by " + cn(issuer));
        } catch (GeneralSecurityException e) {
            return fail("crl_signature", what + " signature does not verify with '" + cn(issuer) + "': " + e.getMessage());
        }
    }

    private CheckResult signedCollateral(String name, String what, List<X509Certificate> issuerChain, String signedJson, byte[] signature) {
        CheckResult chain = chainCheck(name, issuerChain, what + " issuer");
        if (chain.failed()) return chain;
        X509Certificate signer = issuerChain.getFirst();
        if (!cn(signer).equals("Intel SGX TCB Signing")) {
            return fail(name, what + " is signed by '" + cn(signer) + "', expected 'Intel SGX TCB Signing'");
        }
        byte[] bytes = signedJson.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String key = name + ":" + HEX.formatHex(sha256(bytes, signature)) + IntelRoots.fingerprint(signer);
        return cached(key, () -> verifyQuietly(() -> ecdsa(signer.getPublicKey(), bytes, 0, bytes.length, signature))
                ? pass(name, what + " signed by Intel SGX TCB Signing (" + chain.detail() + ")")
                : fail(name, what + " signature does not verify over the exact JSON text: it was edited or re-serialized"));
    }

    private static CheckResult window(String name, String what, Instant issue, Instant next, Instant at) {
        return TcbEvaluator.within(at, issue, next)
                ? pass(name, what + " issued " + issue + ", next update " + next)
                : fail(name, what + " is valid " + issue + " .. " + next + ", not at " + at
                + (at.isAfter(next) ? "; it has expired: fetch current collateral from Intel PCS" : "; it was issued after that time"));
    }

    private static CheckResult collateralMatch(DcapQuote quote, Collateral c, Optional<PckExtensions> pck) {
        List<String> p = new ArrayList<>();
        boolean tdx = quote.tee() == DcapQuote.Tee.TDX;
        if (c.tcbInfo().isTdx() != tdx) p.add("the TCB info is for " + c.tcbInfo().id() + " but the quote is " + quote.tee());
        String wantQe = tdx ? "TD_QE" : "QE";
        if (!c.qeIdentity().id().equals(wantQe)) p.add("the QE identity is " + c.qeIdentity().id() + " but a " + quote.tee() + " quote needs " + wantQe);
        pck.ifPresent(x -> {
            if (!Arrays.equals(x.fmspc(), c.tcbInfo().fmspc())) {
                p.add("the TCB info is for FMSPC " + c.tcbInfo().fmspcHex() + " but the PCK certificate says " + x.fmspcHex()
                        + "; fetch tcbInfo for fmspc=" + x.fmspcHex());
            }
            if (!Arrays.equals(x.pceId(), c.tcbInfo().pceId())) {
                p.add("the TCB info is for PCE ID " + HEX.formatHex(c.tcbInfo().pceId()) + " but the PCK says " + x.pceIdHex());
            }
        });
        return p.isEmpty() ? pass("collateral_match", c.tcbInfo().id() + " TCB info for FMSPC " + c.tcbInfo().fmspcHex() + ", " + wantQe + " identity")
                : fail("collateral_match", String.join("; ", p));
    }

    private interface Check { boolean run() throws GeneralSecurityException; }

    private static boolean verifyQuietly(Check c) {
        try {
            return c.run();
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /** secp256r1 with Bouncy Castle's specialised field arithmetic: several times faster than the JDK's generic EC. */
    private static final org.bouncycastle.asn1.x9.X9ECParameters CURVE = org.bouncycastle.crypto.ec.CustomNamedCurves.getByName("secp256r1");
    private static final org.bouncycastle.crypto.params.ECDomainParameters DOMAIN =
            new org.bouncycastle.crypto.params.ECDomainParameters(CURVE.getCurve(), CURVE.getG(), CURVE.getN(), CURVE.getH());

    /** ECDSA P-256 / SHA-256 with r‖s (32 bytes each, big-endian); false for any key that is not a P-256 point. */
    static boolean ecdsa(PublicKey key, byte[] data, int off, int len, byte[] rs) {
        if (!(key instanceof ECPublicKey ec) || rs.length != 64 || !ec.getParams().getCurve().equals(P256.getCurve())) return false;
        try {
            var point = DOMAIN.getCurve().validatePoint(ec.getW().getAffineX(), ec.getW().getAffineY());
            var signer = new org.bouncycastle.crypto.signers.ECDSASigner();
            signer.init(false, new org.bouncycastle.crypto.params.ECPublicKeyParameters(point, DOMAIN));
            var digest = new org.bouncycastle.crypto.digests.SHA256Digest();
            digest.update(data, off, len);
            byte[] h = new byte[32];
            digest.doFinal(h, 0);
            return signer.verifySignature(h, new BigInteger(1, Arrays.copyOf(rs, 32)), new BigInteger(1, Arrays.copyOfRange(rs, 32, 64)));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The raw X‖Y attestation key as a P-256 public key, or null when it is not a point on the curve. */
    static PublicKey rawKey(byte[] xy) {
        try {
            ECPoint w = new ECPoint(new BigInteger(1, Arrays.copyOf(xy, 32)), new BigInteger(1, Arrays.copyOfRange(xy, 32, 64)));
            return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, P256));
        } catch (GeneralSecurityException e) {
            return null;
        }
    }

    private static byte[] sha256(byte[] a, byte[] b) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(a);
            md.update(b);
            return md.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] encoded(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (GeneralSecurityException e) {
            return new byte[0];
        }
    }

    static String cn(X509Certificate c) {
        String dn = c.getSubjectX500Principal().getName();
        for (String part : dn.split(",")) if (part.startsWith("CN=")) return part.substring(3);
        return dn;
    }

    private static CheckResult pass(String n, String d) { return new CheckResult(n, Status.PASS, d); }
    private static CheckResult fail(String n, String d) { return new CheckResult(n, Status.FAIL, d); }
    private static CheckResult skip(String n, String d) { return new CheckResult(n, Status.SKIP, d); }
}
