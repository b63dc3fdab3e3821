package dev.coffer.attest.verify;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.cert.AmdRoots;
import dev.coffer.attest.cert.CertRole;
import dev.coffer.attest.cert.CertificateFormatException;
import dev.coffer.attest.cert.EcdsaP384;
import dev.coffer.attest.cert.RevocationList;
import dev.coffer.attest.cert.RsaPss;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.SigningKey;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.TcbVersion;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;

import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Verifies SEV-SNP reports, real and simulated, with one code path: chain VCEK/VLEK → ASK/ASVK
 * → ARK (RSASSA-PSS), the ARK pinned (AMD) or explicitly trusted (sim), the report's ECDSA
 * P-384 signature, then the report's claims against the certificate and the policy.
 *
 * <p>Thread-safe. Certificate signature results and parsed endorsement keys are cached per
 * certificate fingerprint, so a server verifying many reports from few chips pays for the RSA
 * chain once; validity dates are still checked against the clock on every call.
 */
public final class SnpVerifier {
    /** Bound on cached entries: a flood of distinct certificates cannot grow memory without limit. */
    private static final int CACHE_LIMIT = 4096;

    private final VerifierPolicy policy;
    private final Map<String, AmdCertificate> simRoots = new ConcurrentHashMap<>();
    private final Map<String, Optional<String>> signatureCache = new ConcurrentHashMap<>();
    private final Map<String, ECPublicKeyParameters> keyCache = new ConcurrentHashMap<>();
    private final Map<String, Chain> chainCache = new ConcurrentHashMap<>();
    private final Map<RevocationList, Optional<String>> crlSignatures = new ConcurrentHashMap<>();

    public SnpVerifier(VerifierPolicy policy) {
        this.policy = policy;
        for (AmdCertificate root : policy.trustedSimRoots()) simRoots.put(root.sha256Fingerprint(), root);
    }

    public VerifierPolicy policy() {
        return policy;
    }

    /**
     * Verifies with certificates in any order: the endorsement key (VCEK/VLEK) and optionally its
     * ASK/ASVK and ARK, as a KDS cert_chain or a cloud's certificate cache hands them out.
     */
    public Verdict verify(SnpReport report, List<AmdCertificate> certificates) {
        return verify(report, pickEndorsementKey(report, certificates), certificates);
    }

    /** As {@link #verify(SnpReport, List)}, with certificate validity and revocation judged at {@code at}. */
    public Verdict verify(SnpReport report, List<AmdCertificate> certificates, Instant at) {
        return verify(report, pickEndorsementKey(report, certificates), certificates, at);
    }

    /**
     * Verifies with an explicit endorsement key. {@code chain} may be empty (the bundled AMD
     * intermediates are used) and may contain the endorsement key too.
     */
    public Verdict verify(SnpReport report, AmdCertificate endorsementKey, List<AmdCertificate> chain) {
        return verify(report, endorsementKey, chain, policy.clock().instant());
    }

    private Verdict verify(SnpReport report, AmdCertificate endorsementKey, List<AmdCertificate> chain, Instant now) {
        List<CheckResult> checks = new ArrayList<>(16);
        SigningKey expectedKey = endorsementKey.role() == CertRole.VLEK ? SigningKey.VLEK : SigningKey.VCEK;

        // The report's signature algorithm and signing-key field must match the certificate we were given.
        checks.add(report.signatureAlgorithm() == SnpReport.SIG_ALGO_ECDSA_P384_SHA384
                ? CheckResult.pass("signature_algorithm", "ECDSA P-384 with SHA-384")
                : CheckResult.fail("signature_algorithm", "report says signature algorithm " + report.signatureAlgorithm()
                        + ", expected 1 (ECDSA P-384 with SHA-384)"));
        if (!endorsementKey.role().isEndorsementKey()) {
            checks.add(CheckResult.fail("signing_key", "the endorsement certificate " + endorsementKey
                    + " is neither a VCEK nor a VLEK"));
        } else if (report.signingKey() != expectedKey) {
            checks.add(CheckResult.fail("signing_key", "report says it was signed by " + report.signingKey()
                    + " but the certificate is a " + endorsementKey.role()));
        } else {
            checks.add(CheckResult.pass("signing_key", "signed by " + expectedKey));
        }

        // Chain: endorsement key -> ASK/ASVK -> ARK, and the ARK must be trusted.
        Chain chainResult = chain(endorsementKey, chain);
        TeeKind tee = chainResult.tee;
        checks.add(chainResult.problem == null
                ? CheckResult.pass("certificate_chain", chainResult.description)
                : CheckResult.fail("certificate_chain", chainResult.problem));
        checks.add(validity(now, endorsementKey, chainResult));
        checks.add(revocation(now, endorsementKey, chainResult));

        // The report signature itself.
        checks.add(reportSignature(report, endorsementKey));

        // Product consistency: root, certificate and CPUID must name the same generation.
        Optional<Product> product = productCheck(report, endorsementKey, chainResult, checks);

        checks.add(tcbCheck(report, endorsementKey, product));
        checks.add(chipIdCheck(report, endorsementKey, product));
        policyChecks(report, checks);
        return new Verdict(checks.stream().noneMatch(CheckResult::failed), chainResult.problem == null ? tee : TeeKind.UNKNOWN,
                product, report, endorsementKey, checks);
    }

    private static AmdCertificate pickEndorsementKey(SnpReport report, List<AmdCertificate> certs) {
        List<AmdCertificate> keys = certs.stream().filter(c -> c.role().isEndorsementKey()).toList();
        if (keys.isEmpty()) {
            throw new CertificateFormatException("expected a VCEK or VLEK certificate among the " + certs.size()
                    + " given, found only " + certs.stream().map(AmdCertificate::subjectCn).toList()
                    + "; pass the endorsement key (--vcek) or let the KDS client fetch it");
        }
        for (AmdCertificate k : keys) {
            if (k.hwId().map(h -> MessageDigest.isEqual(h, report.chipId())).orElse(false)) return k;
        }
        return keys.getFirst();
    }

    /** The resolved chain for this endorsement key and these supplied certificates, cached. */
    private Chain chain(AmdCertificate ek, List<AmdCertificate> supplied) {
        StringBuilder key = new StringBuilder(64 * (supplied.size() + 1)).append(ek.sha256Fingerprint());
        for (AmdCertificate c : supplied) key.append(c.sha256Fingerprint());
        String k = key.toString();
        Chain cached = chainCache.get(k);
        if (cached != null) return cached;
        Chain built = buildChain(ek, supplied);
        if (chainCache.size() >= CACHE_LIMIT) chainCache.clear();
        chainCache.put(k, built);
        return built;
    }

    private record Chain(AmdCertificate intermediate, AmdCertificate root, TeeKind tee, Product rootProduct,
                         String description, String problem) {}

    private Chain buildChain(AmdCertificate ek, List<AmdCertificate> supplied) {
        CertRole wantIntermediate = ek.role() == CertRole.VLEK ? CertRole.ASVK : CertRole.ASK;
        AmdCertificate intermediate = findIssuer(ek, wantIntermediate, supplied);
        if (intermediate == null) {
            return new Chain(null, null, TeeKind.UNKNOWN, null, null, "no " + wantIntermediate + " certificate named '"
                    + ek.issuerCn() + "' (the issuer of the " + ek.role() + ") was supplied or is bundled; pass the cert_chain");
        }
        Optional<String> bad = signedBy(ek, intermediate);
        if (bad.isPresent()) return new Chain(intermediate, null, TeeKind.UNKNOWN, null, null, bad.get());
        AmdCertificate root = findIssuer(intermediate, CertRole.ARK, supplied);
        if (root == null) {
            return new Chain(intermediate, null, TeeKind.UNKNOWN, null, null, "no ARK named '" + intermediate.issuerCn()
                    + "' (the issuer of " + intermediate.subjectCn() + ") was supplied or is trusted");
        }
        bad = signedBy(intermediate, root);
        if (bad.isPresent()) return new Chain(intermediate, root, TeeKind.UNKNOWN, null, null, bad.get());
        if (!root.selfIssued()) {
            return new Chain(intermediate, root, TeeKind.UNKNOWN, null, null, root.subjectCn() + " is not self-issued, so it cannot be a root");
        }
        bad = signedBy(root, root);
        if (bad.isPresent()) return new Chain(intermediate, root, TeeKind.UNKNOWN, null, null, "ARK is not self-signed: " + bad.get());
        String path = ek.role() + " → " + intermediate.subjectCn() + " → " + root.subjectCn();
        Optional<Product> pinned = AmdRoots.pinnedArk(root);
        if (pinned.isPresent()) {
            return new Chain(intermediate, root, TeeKind.REAL, pinned.get(), path + " (pinned AMD root " + pinned.get() + ")", null);
        }
        if (simRoots.containsKey(root.sha256Fingerprint())) {
            return new Chain(intermediate, root, TeeKind.SIM, null, path + " (trusted simulated root, sha256 "
                    + root.sha256Fingerprint().substring(0, 16) + "…)", null);
        }
        String hint = root.subjectCn() != null && root.subjectCn().contains("Sim")
                ? "; it is a simulated secure processor's root, which is trusted only when explicitly configured (--trust-sim)"
                : "; evidence must chain to AMD's ARK for Milan, Genoa or Turin";
        return new Chain(intermediate, root, TeeKind.UNKNOWN, null, null, "root " + root.subjectCn() + " (sha256 "
                + root.sha256Fingerprint() + ") is not a pinned AMD ARK" + hint);
    }

    /** The certificate named by {@code child}'s issuer, preferring one whose signature verifies. */
    private AmdCertificate findIssuer(AmdCertificate child, CertRole role, List<AmdCertificate> supplied) {
        AmdCertificate fallback = null;
        for (List<AmdCertificate> pool : List.of(supplied, AmdRoots.bundled(), policy.trustedSimRoots())) {
            for (AmdCertificate c : pool) {
                if (c.role() != role || !c.subject().equals(child.issuer())) continue;
                if (signedBy(child, c).isEmpty()) return c;
                if (fallback == null) fallback = c;
            }
        }
        return fallback;
    }

    private Optional<String> signedBy(AmdCertificate subject, AmdCertificate issuer) {
        String key = subject.sha256Fingerprint() + issuer.sha256Fingerprint();
        Optional<String> cached = signatureCache.get(key);
        if (cached != null) return cached;
        Optional<String> result = RsaPss.checkSignedBy(subject, issuer);
        if (signatureCache.size() >= CACHE_LIMIT) signatureCache.clear();
        signatureCache.put(key, result);
        return result;
    }

    private static CheckResult validity(Instant now, AmdCertificate ek, Chain chain) {
        List<String> expired = new ArrayList<>();
        for (AmdCertificate c : new AmdCertificate[] {ek, chain.intermediate, chain.root}) {
            if (c != null && !c.validAt(now)) {
                expired.add(c.subjectCn() + " is valid " + c.notBefore() + " .. " + c.notAfter());
            }
        }
        return expired.isEmpty()
                ? CheckResult.pass("certificate_validity", "all certificates valid at " + now)
                : CheckResult.fail("certificate_validity", "at " + now + ": " + String.join("; ", expired));
    }

    private CheckResult revocation(Instant now, AmdCertificate ek, Chain chain) {
        if (chain.root == null) return CheckResult.skip("revocation", "no root established");
        List<String> problems = new ArrayList<>();
        List<String> checkedBy = new ArrayList<>();
        // AMD's KDS CRL is the ARK's and lists revoked ASKs/ASVKs; a CRL of the ASK (signed by it)
        // lists revoked VCEKs/VLEKs. Each CRL counts only when its issuer's signature on it verifies.
        for (RevocationList crl : policy.crls()) {
            AmdCertificate issuer = crl.issuer().equals(chain.root.subject()) ? chain.root
                    : chain.intermediate != null && crl.issuer().equals(chain.intermediate.subject()) ? chain.intermediate : null;
            if (issuer == null) continue;
            Optional<String> bad = crlSignatures.computeIfAbsent(crl, c -> RsaPss.checkSignedBy(c, issuer));
            if (bad.isPresent()) {
                problems.add(bad.get());
                continue;
            }
            if (!checkedBy.contains(issuer.subjectCn())) checkedBy.add(issuer.subjectCn());
            for (AmdCertificate c : new AmdCertificate[] {chain.intermediate, ek}) {
                if (c != null && crl.revokes(c)) problems.add(c.subjectCn() + " (serial 0x" + c.serial().toString(16) + ") is revoked by " + issuer.subjectCn());
            }
        }
        if (!problems.isEmpty()) return CheckResult.fail("revocation", String.join("; ", problems));
        if (checkedBy.isEmpty()) return CheckResult.skip("revocation", "no CRL configured for " + chain.root.subjectCn());
        String stale = policy.crls().stream().filter(c -> c.issuer().equals(chain.root.subject())
                        || chain.intermediate != null && c.issuer().equals(chain.intermediate.subject()))
                .flatMap(c -> c.nextUpdate().stream()).filter(next -> next.isBefore(now)).findFirst()
                .map(next -> " (the CRL was due for renewal at " + next + "; fetch a fresh one)").orElse("");
        return CheckResult.pass("revocation", "not revoked by the CRL of " + String.join(" and ", checkedBy) + stale);
    }

    private CheckResult reportSignature(SnpReport report, AmdCertificate ek) {
        ECPublicKeyParameters key = keyCache.get(ek.sha256Fingerprint());
        if (key == null) {
            try {
                key = EcdsaP384.publicKey(ek);
            } catch (CertificateFormatException e) {
                return CheckResult.fail("report_signature", e.getMessage());
            }
            if (keyCache.size() >= CACHE_LIMIT) keyCache.clear();
            keyCache.put(ek.sha256Fingerprint(), key);
        }
        boolean ok = EcdsaP384.verify(key, report.raw(), 0, SnpReport.SIGNED_LENGTH, report.signatureR(), report.signatureS());
        return ok ? CheckResult.pass("report_signature", "ECDSA P-384 signature by the " + ek.role() + " verifies")
                : CheckResult.fail("report_signature", "the report's signature does not verify with the " + ek.role()
                + " key: the report was altered or signed by another chip/TCB");
    }

    private static Optional<Product> productCheck(SnpReport report, AmdCertificate ek, Chain chain, List<CheckResult> checks) {
        Optional<String> name = ek.productName();
        Optional<Product> certProduct = name.flatMap(Product::fromName);
        Optional<Product> rootProduct = Optional.ofNullable(chain.rootProduct);
        Optional<Product> cpu = report.cpuProduct();
        Optional<Product> product = rootProduct.or(() -> certProduct).or(() -> cpu);
        List<String> problems = new ArrayList<>();
        if (product.isEmpty()) problems.add("neither the root, the certificate nor CPUID names a product");
        product.ifPresent(p -> {
            if (certProduct.isPresent() && certProduct.get() != p) problems.add(ek.role() + " says " + name.get() + " but the root is " + p);
            if (name.isPresent() && certProduct.isEmpty()) problems.add(ek.role() + " names unknown product '" + name.get() + "'");
            if (cpu.isPresent() && cpu.get() != p) problems.add("report CPUID says " + cpu.get() + " but the chain is " + p);
        });
        checks.add(problems.isEmpty()
                ? CheckResult.pass("product", product.get() + name.map(n -> " (" + n + ")").orElse(""))
                : CheckResult.fail("product", String.join("; ", problems)));
        return product;
    }

    private static CheckResult tcbCheck(SnpReport report, AmdCertificate ek, Optional<Product> product) {
        // Decode the raw REPORTED_TCB with the layout of the product the chain established, which
        // for version 2 reports (no CPUID) can differ from what the parser assumed.
        TcbVersion tcb = product.map(p -> TcbVersion.decode(report.reportedTcb().bytes(), 0, p.tcbLayout()))
                .orElse(report.reportedTcb());
        List<String> problems = new ArrayList<>();
        try {
            compareSpl(problems, ek, AmdCertificate.BL_SPL, "bootloader", tcb.bootloader());
            compareSpl(problems, ek, AmdCertificate.TEE_SPL, "tee", tcb.tee());
            compareSpl(problems, ek, AmdCertificate.SNP_SPL, "snp", tcb.snp());
            compareSpl(problems, ek, AmdCertificate.UCODE_SPL, "microcode", tcb.microcode());
            if (tcb.fmc() >= 0) compareSpl(problems, ek, AmdCertificate.FMC_SPL, "fmc", tcb.fmc());
        } catch (CertificateFormatException e) {
            problems.add(e.getMessage());
        }
        return problems.isEmpty()
                ? CheckResult.pass("reported_tcb", "certificate SPLs equal REPORTED_TCB " + tcb)
                : CheckResult.fail("reported_tcb", String.join("; ", problems));
    }

    private static void compareSpl(List<String> problems, AmdCertificate ek, ASN1ObjectIdentifier oid, String what, int reported) {
        Optional<Integer> spl = ek.spl(oid);
        if (spl.isEmpty()) problems.add(ek.role() + " lacks the " + what + " SPL extension " + oid);
        else if (spl.get() != reported) problems.add(what + " SPL is " + spl.get() + " in the " + ek.role() + " but " + reported + " in REPORTED_TCB");
    }

    private static CheckResult chipIdCheck(SnpReport report, AmdCertificate ek, Optional<Product> product) {
        if (ek.role() == CertRole.VLEK) return CheckResult.skip("chip_id", "a VLEK is not bound to one chip");
        if (report.maskChipKey()) return CheckResult.skip("chip_id", "the guest masked CHIP_ID (MASK_CHIP_KEY)");
        Optional<byte[]> hw = ek.hwId();
        if (hw.isEmpty()) return CheckResult.fail("chip_id", "the VCEK has no hwID extension (1.3.6.1.4.1.3704.1.4)");
        byte[] chip = report.chipId();
        byte[] id = hw.get();
        // Turin VCEKs carry only the first 8 bytes of CHIP_ID as hwID.
        boolean ok = id.length == 64 ? MessageDigest.isEqual(id, chip)
                : product.orElse(null) == Product.TURIN && id.length == 8
                && MessageDigest.isEqual(id, java.util.Arrays.copyOf(chip, 8));
        HexFormat hex = HexFormat.of();
        return ok ? CheckResult.pass("chip_id", "CHIP_ID equals the VCEK's hwID")
                : CheckResult.fail("chip_id", "CHIP_ID " + hex.formatHex(chip).substring(0, 16) + "… differs from the VCEK's hwID "
                + hex.formatHex(id).substring(0, Math.min(16, 2 * id.length)) + "…: the VCEK belongs to another chip");
    }

    private void policyChecks(SnpReport report, List<CheckResult> checks) {
        var gp = report.policy();
        checks.add(!gp.debug() ? CheckResult.pass("policy_debug", "debugging disallowed by the guest policy")
                : policy.allowDebug() ? CheckResult.pass("policy_debug", "guest policy allows debugging; accepted because the verifier allows debug")
                : CheckResult.fail("policy_debug", "guest policy allows debugging (bit 19), so the host can read guest memory; "
                + "accept it only for development (allow debug)"));
        checks.add(!gp.smt() || policy.allowSmt() ? CheckResult.pass("policy_smt", "SMT " + (gp.smt() ? "allowed" : "disallowed") + " by the guest policy")
                : CheckResult.fail("policy_smt", "guest policy allows SMT (bit 16) but the verifier requires SMT off"));
        checks.add(!gp.migrationAgent() || policy.allowMigrationAgent()
                ? CheckResult.pass("policy_migration_agent", "migration agent " + (gp.migrationAgent() ? "allowed" : "disallowed"))
                : CheckResult.fail("policy_migration_agent", "guest policy allows a migration agent (bit 18), which the verifier refuses"));
        checks.add(policy.minimumTcb().map(min -> report.reportedTcb().atLeast(min)
                        ? CheckResult.pass("minimum_tcb", "REPORTED_TCB " + report.reportedTcb() + " ≥ " + min)
                        : CheckResult.fail("minimum_tcb", "REPORTED_TCB " + report.reportedTcb() + " is below the minimum " + min))
                .orElse(CheckResult.skip("minimum_tcb", "no minimum TCB configured")));
        checks.add(expect("host_data", report.hostData(), policy.expectedHostData()));
        checks.add(expect("measurement", report.measurement(), policy.expectedMeasurement()));
        checks.add(expect("report_data", report.reportData(), policy.expectedReportData()));
    }

    private static CheckResult expect(String name, byte[] actual, Optional<byte[]> expected) {
        HexFormat hex = HexFormat.of();
        if (expected.isEmpty()) return CheckResult.skip(name, "no expected value configured");
        return MessageDigest.isEqual(actual, expected.get())
                ? CheckResult.pass(name, name.toUpperCase(java.util.Locale.ROOT) + " equals the expected " + hex.formatHex(actual))
                : CheckResult.fail(name, name.toUpperCase(java.util.Locale.ROOT) + " is " + hex.formatHex(actual) + ", expected " + hex.formatHex(expected.get()));
    }
}
