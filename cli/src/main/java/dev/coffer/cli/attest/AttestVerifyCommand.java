package dev.coffer.cli.attest;

import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.endorse.EndorsementFormatException;
import dev.coffer.attest.evidence.Attestation;
import dev.coffer.attest.evidence.Evidence;
import dev.coffer.attest.evidence.EvidenceVerifier;
import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.attest.endorse.TrustedEndorser;
import dev.coffer.attest.cert.CertificateFormatException;
import dev.coffer.attest.cert.Certificates;
import dev.coffer.attest.kds.CollateralUnavailableException;
import dev.coffer.attest.kds.KdsClient;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportFields;
import dev.coffer.attest.snp.SnpReportFormatException;
import dev.coffer.attest.snp.TcbVersion;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.Verdict;
import dev.coffer.attest.verify.VerifierPolicy;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.ExitCodes;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code coffer attest verify}: parse and verify one SEV-SNP report or Intel DCAP quote; exit 0 only when valid. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Parse an AMD SEV-SNP attestation report, print every field, and verify it: the",
                "VCEK/VLEK chain to AMD's pinned ARK (RSA-PSS), the report's ECDSA P-384 signature,",
                "the certificate's TCB and chip id against the report, and the guest policy.",
                "Without --vcek the VCEK is fetched from AMD's KDS (or its cache under $COFFER_HOME).",
                "With --endorsement, also appraise a guest endorsement (COSE_Sign1, Azure's UVM reference-info",
                "format) against the report's MEASUREMENT and the --trust-endorser list.",
                "Exit code 0 only when the report is valid (and, with --endorsement, endorsed); 1 when invalid",
                "or collateral is unavailable.",
                "",
                "With --quote, verify an Intel DCAP quote instead (SGX v3 or TDX v4/v5, detected, or --kind):",
                "the attestation key's signature over header and body, the QE report signed by the PCK",
                "certificate and binding the attestation key, the PCK chain to the pinned Intel SGX Root CA,",
                "and with --collateral the PCS CRLs, TCB info and QE identity (chains, signatures, validity",
                "at --at) and the TCB status as Intel's QVL computes it. Exit 0 when all of that verifies",
                "and a TCB level matches, whatever its status (the status is printed: refusing OutOfDate",
                "is the appraisal's job); 1 otherwise."},
        footer = {"", "Examples:",
                "  coffer attest verify --report report.bin --vcek vcek.der --chain cert_chain.pem",
                "  coffer attest verify --report report.hex --at 2024-01-01T00:00:00Z --expect-host-data 89d0...c139",
                "  coffer attest verify --report sim-report.bin --trust-sim -o json",
                "  coffer attest verify --report report.bin --chain cert_chain.pem --endorsement guest.cose \\",
                "      --trust-endorser 'did:x509:0:sha256:...::eku:...,coffer-guest' -o json",
                "  coffer attest verify --quote td-quote.dat --collateral collateral.json --at 2023-07-01T00:00:00Z",
                "  coffer attest verify --quote enclave-quote.dat --kind sgx --collateral /etc/coffer/collateral/ -o json",
                "",
                "A collateral bundle is one JSON object with the keys pck_crl_issuer_chain, root_ca_crl,",
                "pck_crl, tcb_info_issuer_chain, tcb_info, tcb_info_signature, qe_identity_issuer_chain,",
                "qe_identity, qe_identity_signature (PEM chains, hex DER CRLs, the exact signed JSON text,",
                "hex r||s signatures), as Intel's PCS serves them; a directory holds one per platform (FMSPC)."})
public final class AttestVerifyCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--report", paramLabel = "FILE",
            description = "The SEV-SNP report: raw binary (1184 bytes) or hex text.")
    Path report;

    @Option(names = "--quote", paramLabel = "FILE",
            description = "An Intel DCAP quote (SGX or TDX): raw binary, hex or base64 text.")
    Path quote;

    @Option(names = "--kind", paramLabel = "KIND",
            description = "With --quote: require an sgx or tdx quote (default: detect from the quote header).")
    String kind;

    @Option(names = "--collateral", paramLabel = "FILE|DIR",
            description = "With --quote: Intel PCS collateral, a bundle JSON file or a directory of them (one per FMSPC).")
    Path collateral;

    @Option(names = "--pcs", description = "With --quote and no --collateral: fetch the collateral from Intel PCS through the cache under "
            + "$COFFER_HOME/cache/pcs (each answer fetched once; --offline reads only the cache).")
    boolean pcs;

    @Option(names = "--vcek", paramLabel = "FILE", description = "The VCEK or VLEK certificate, DER or PEM.")
    Path vcek;

    @Option(names = "--chain", paramLabel = "FILE",
            description = "PEM bundle with the ASK/ASVK and ARK in any order (may include the VCEK); the ARK must still match a pinned root.")
    Path chain;

    @Option(names = "--at", paramLabel = "TIME", description = "Verify as of this ISO-8601 instant (default: now), e.g. 2024-01-01T00:00:00Z.")
    String at;

    @Option(names = "--expect-host-data", paramLabel = "HEX", description = "Require HOST_DATA to equal these 32 bytes (SHA-256 of the policy).")
    String expectHostData;

    @Option(names = "--expect-measurement", paramLabel = "HEX", description = "Require MEASUREMENT to equal these 48 bytes.")
    String expectMeasurement;

    @Option(names = "--expect-report-data", paramLabel = "HEX",
            description = "Require REPORT_DATA to start with these bytes (a nonce, up to 64 bytes; the rest must be zero).")
    String expectReportData;

    @Option(names = "--trust-sim", description = "Also trust the simulated secure processor under $COFFER_HOME/sim-tee (development only).")
    boolean trustSim;

    @Option(names = "--allow-debug", description = "Accept guests whose policy allows debugging (development only).")
    boolean allowDebug;

    @Option(names = "--min-tcb", paramLabel = "SPEC", description = "Minimum REPORTED_TCB, e.g. bl=3,tee=0,snp=8,ucode=115 (Turin: add fmc=N).")
    String minTcb;

    @Option(names = "--product", paramLabel = "NAME", description = "Milan, Genoa or Turin: which KDS to ask for a version 2 report's VCEK (default: try Milan, then Genoa).")
    String product;

    @Option(names = "--crl", paramLabel = "FILE", description = "AMD's CRL for the product (DER, from the KDS /crl): refuse revoked intermediates.")
    Path crl;

    @Option(names = "--offline", description = "Never contact the KDS (or, with --pcs, Intel PCS); use only what is given or cached.")
    boolean offline;

    @Option(names = "--kds-url", paramLabel = "URL", defaultValue = "https://kdsintf.amd.com",
            description = "The KDS to fetch VCEKs from (default: ${DEFAULT-VALUE}).")
    URI kdsUrl;

    @Option(names = "--kds-cache", paramLabel = "DIR", description = "Where fetched KDS answers are cached (default: $COFFER_HOME/cache/kds).")
    Path kdsCache;

    @Option(names = "--sim-dir", paramLabel = "DIR", description = "The simulated secure processor trusted by --trust-sim (default: $COFFER_HOME/sim-tee).")
    Path simDir;

    @Option(names = "--endorsement", paramLabel = "FILE",
            description = "A guest endorsement of the report's MEASUREMENT: COSE_Sign1 bytes, or their base64 or hex text.")
    Path endorsement;

    @Option(names = "--trust-endorser", paramLabel = "DID[,FEED[,MIN_SVN]]",
            description = "Trust endorsements by this did:x509 issuer (for FEED only, if given; with guest SVN at least MIN_SVN). Repeatable.")
    List<String> trustEndorsers = new ArrayList<>();

    @Option(names = "--trust-azure-uvm", description = "Trust Microsoft's UVM endorser (issuer and feed ContainerPlat-AMD-UVM, as MAA does).")
    boolean trustAzureUvm;

    @Override
    public Integer call() {
        if (quote != null) {
            if (report != null) throw new UsageException("give either --report (SEV-SNP) or --quote (Intel DCAP), not both");
            if (pcs && collateral != null) throw new UsageException("give either --collateral or --pcs, not both");
            dev.coffer.attest.pcs.PcsClient pcsClient = pcs ? new dev.coffer.attest.pcs.PcsClient(dev.coffer.attest.pcs.PcsClient.INTEL_PCS,
                    dev.coffer.attest.pcs.PcsClient.INTEL_ROOT_CRL, CofferHome.resolve().resolve("cache").resolve("pcs"), offline,
                    Duration.ofSeconds(10)) : null;
            return new QuoteVerification(quote, kind, collateral, at, pcsClient).run(spec.commandLine().getOut(), output.json());
        }
        if (report == null) {
            throw new UsageException("missing --report FILE (an SEV-SNP report) or --quote FILE (an Intel SGX/TDX DCAP quote)");
        }
        if (kind != null || collateral != null || pcs) throw new UsageException("--kind, --collateral and --pcs go with --quote FILE");
        if (endorsement == null && (!trustEndorsers.isEmpty() || trustAzureUvm)) {
            throw new UsageException("--trust-endorser and --trust-azure-uvm need --endorsement FILE (the endorsement to appraise)");
        }
        List<TrustedEndorser> trusted = new ArrayList<>();
        for (String t : trustEndorsers) {
            try {
                trusted.add(TrustedEndorser.parse(t));
            } catch (EndorsementFormatException e) {
                throw new UsageException("--trust-endorser: " + e.getMessage());
            }
        }
        if (trustAzureUvm) trusted.add(TrustedEndorser.MICROSOFT_UVM);
        GuestEndorsement guestEndorsement = null;
        if (endorsement != null) {
            try {
                guestEndorsement = GuestEndorsement.decode(AttestInputs.read(endorsement, "endorsement"));
            } catch (EndorsementFormatException e) {
                throw new CofferException(endorsement + ": " + e.getMessage());
            }
        }
        Instant verifyAt = Instant.now();
        VerifierPolicy.Builder policy = VerifierPolicy.builder().allowDebug(allowDebug);
        if (at != null) {
            try {
                verifyAt = Instant.parse(at);
                policy.clock(Clock.fixed(verifyAt, ZoneOffset.UTC));
            } catch (DateTimeParseException e) {
                throw new UsageException("--at expects an ISO-8601 instant like 2024-01-01T00:00:00Z, found '" + at + "'");
            }
        }
        Optional<Product> productHint;
        try {
            productHint = product == null ? Optional.empty() : Optional.of(Product.parse(product));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--product: " + e.getMessage());
        }
        policy.expectHostData(AttestInputs.hex("--expect-host-data", expectHostData, 32));
        policy.expectMeasurement(AttestInputs.hex("--expect-measurement", expectMeasurement, 48));
        if (expectReportData != null) policy.expectReportData(AttestInputs.paddedHex("--expect-report-data", expectReportData, 64));
        if (minTcb != null) {
            try {
                policy.minimumTcb(TcbVersion.parseSpec(minTcb, productHint.map(Product::tcbLayout)
                        .orElse(minTcb.contains("fmc") ? dev.coffer.attest.snp.TcbLayout.TURIN : dev.coffer.attest.snp.TcbLayout.MILAN_GENOA)));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--min-tcb: " + e.getMessage());
            }
        }

        if (crl != null) {
            try {
                policy.crl(dev.coffer.attest.cert.RevocationList.fromDer(AttestInputs.read(crl, "CRL")));
            } catch (CertificateFormatException e) {
                throw new CofferException(crl + ": " + e.getMessage());
            }
        }

        SnpReport parsed;
        try {
            parsed = SnpReport.decode(AttestInputs.read(report, "report"));
        } catch (SnpReportFormatException e) {
            throw new CofferException(report + ": " + e.getMessage());
        }

        List<AmdCertificate> certs = new ArrayList<>();
        AmdCertificate endorsementKey = null;
        try {
            if (chain != null) certs.addAll(Certificates.parse(AttestInputs.read(chain, "certificate chain")));
            if (vcek != null) {
                endorsementKey = Certificates.parseOne(AttestInputs.read(vcek, "VCEK"));
                if (!endorsementKey.role().isEndorsementKey()) {
                    throw new CofferException("--vcek " + vcek + " holds " + endorsementKey + ", expected a VCEK or VLEK certificate");
                }
            }
        } catch (CertificateFormatException e) {
            throw new CofferException((vcek != null && chain == null ? vcek : chain) + ": " + e.getMessage());
        }
        if (endorsementKey == null) {
            endorsementKey = certs.stream().filter(c -> c.role().isEndorsementKey()).findFirst().orElse(null);
        }
        if (trustSim) {
            SimulatedSecureProcessor sim = AttestInputs.loadSim(simDir);
            policy.trustSimRoot(sim.ark());
            certs.addAll(List.of(sim.ask(), sim.ark()));
            if (endorsementKey == null && java.util.Arrays.equals(sim.chipId(), parsed.chipId())) {
                endorsementKey = sim.vcek();
            }
        }
        if (endorsementKey == null) {
            KdsClient kds = new KdsClient(kdsUrl, kdsCache != null ? kdsCache : CofferHome.resolve().resolve("cache").resolve("kds"), offline,
                    Duration.ofSeconds(10), 3, Duration.ofSeconds(5), Clock.systemUTC());
            try {
                endorsementKey = kds.vcekFor(parsed, productHint);
            } catch (CollateralUnavailableException e) {
                throw new CofferException(e.getMessage() + " (or pass --vcek FILE)");
            }
        }

        // Through the one verifier: the endorsement key chosen above is the only one it is given, and
        // evidence from the simulated processor verifies only with --trust-sim (its sim root).
        List<AmdCertificate> presented = new ArrayList<>();
        presented.add(endorsementKey);
        certs.stream().filter(c -> !c.role().isEndorsementKey()).forEach(presented::add);
        Attestation attestation = new EvidenceVerifier(new SnpVerifier(policy.build()))
                .verify(Evidence.snpFormat(parsed, presented), verifyAt);
        Verdict verdict = attestation.snpVerdict().orElseThrow();
        EndorsementVerdict endorsed = guestEndorsement == null ? null
                : EndorsementVerifier.verify(guestEndorsement, java.util.HexFormat.of().formatHex(parsed.measurement()), verifyAt, trusted);
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, json(parsed, attestation, verdict, endorsed));
        } else {
            printText(out, parsed, attestation, verdict, endorsed);
        }
        return attestation.valid() && (endorsed == null || endorsed.endorsed()) ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    private static List<Map<String, Object>> checks(List<CheckResult> results) {
        List<Map<String, Object>> checks = new ArrayList<>();
        for (CheckResult r : results) {
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("name", r.name());
            cm.put("status", r.status().name().toLowerCase(java.util.Locale.ROOT));
            cm.put("detail", r.detail());
            checks.add(cm);
        }
        return checks;
    }

    private Map<String, Object> json(SnpReport parsed, Attestation attestation, Verdict verdict, EndorsementVerdict endorsed) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (endorsed != null) {
            // Top-level, as a checker reads them: exit 0 iff valid && endorsed.
            m.put("valid", attestation.valid());
            m.put("endorsed", endorsed.endorsed());
            m.put("complianceStatus", endorsed.complianceStatus());
        }
        m.put("report", SnpReportFields.of(parsed));
        Map<String, Object> ek = new LinkedHashMap<>();
        AmdCertificate c = verdict.endorsementKey();
        ek.put("role", c.role().name());
        ek.put("subject_cn", c.subjectCn());
        ek.put("issuer_cn", c.issuerCn());
        ek.put("product_name", c.productName().orElse(null));
        ek.put("not_before", c.notBefore().toString());
        ek.put("not_after", c.notAfter().toString());
        ek.put("sha256", c.sha256Fingerprint());
        m.put("endorsement_key", ek);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("valid", attestation.valid());
        v.put("tee", verdict.tee().label());
        v.put("kind", attestation.kind().label());
        v.put("product", verdict.product().map(Product::toString).orElse(null));
        v.put("checks", checks(attestation.checks()));
        m.put("verdict", v);
        if (endorsed != null) {
            GuestEndorsement g = endorsed.endorsement();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("endorsed", endorsed.endorsed());
            e.put("complianceStatus", endorsed.complianceStatus());
            e.put("issuer", g.issuer());
            e.put("feed", g.feed());
            e.put("launchMeasurement", g.launchMeasurement());
            e.put("guestSvn", g.guestSvn());
            e.put("algorithm", g.algorithm().name());
            e.put("signer", g.leaf().getSubjectX500Principal().getName());
            e.put("signerNotAfter", g.leaf().getNotAfter().toInstant().toString());
            e.put("sha256", g.sha256());
            e.put("failed", endorsed.failures().stream().map(CheckResult::name).toList());
            e.put("checks", checks(endorsed.checks()));
            m.put("endorsement", e);
        }
        return m;
    }

    private void printText(PrintWriter out, SnpReport parsed, Attestation attestation, Verdict verdict, EndorsementVerdict endorsed) {
        out.println("report " + report + " (version " + parsed.version() + ")");
        for (var e : SnpReportFields.of(parsed).entrySet()) {
            out.printf("  %-20s %s%n", e.getKey(), render(e.getValue()));
        }
        AmdCertificate c = verdict.endorsementKey();
        out.println("endorsement key " + c.role() + " " + c.productName().orElse("") + " (issuer " + c.issuerCn() + ", valid "
                + c.notBefore() + " .. " + c.notAfter() + ", sha256 " + c.sha256Fingerprint() + ")");
        out.println("checks");
        for (CheckResult r : attestation.checks()) {
            out.printf("  %-4s %-22s %s%n", r.status(), r.name(), r.detail());
        }
        // the SNP verifier's words when valid (tee, product); the failures of every check otherwise
        out.println("verdict: " + (attestation.valid() ? verdict.summary() : attestation.summary()));
        if (endorsed != null) {
            GuestEndorsement g = endorsed.endorsement();
            out.println("endorsement " + endorsement + " (" + g.algorithm() + ", issuer " + g.issuer() + ", feed " + g.feed()
                    + ", svn " + g.guestSvn() + ", measurement " + g.launchMeasurement() + ")");
            out.println("endorsement checks");
            for (CheckResult r : endorsed.checks()) {
                out.printf("  %-4s %-22s %s%n", r.status(), r.name(), r.detail());
            }
            out.println("endorsement: " + endorsed.summary());
        }
        out.flush();
    }

    private static String render(Object v) {
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder();
            for (var e : m.entrySet()) {
                if (!sb.isEmpty()) sb.append(", ");
                sb.append(e.getKey()).append('=').append(e.getValue());
            }
            return sb.toString();
        }
        return String.valueOf(v);
    }
}
