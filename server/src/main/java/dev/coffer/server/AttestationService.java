package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.evidence.Attestation;
import dev.coffer.attest.evidence.Evidence;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.attest.evidence.EvidenceVerifier;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.cert.RevocationList;
import dev.coffer.attest.kds.KdsClient;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.TcbVersion;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.Verdict;
import dev.coffer.attest.verify.VerifierPolicy;
import dev.coffer.server.appraisal.AppraisalDecision;
import dev.coffer.server.appraisal.AppraisalInput;
import dev.coffer.server.appraisal.AppraisalPolicy;
import dev.coffer.server.appraisal.RegoAppraisalPolicy;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.HttpRequest;
import dev.coffer.server.http.HttpResponse;
import dev.coffer.server.http.Json;
import dev.coffer.server.http.Router;
import dev.coffer.server.store.VaultStore;
import dev.coffer.server.token.AttestationTypes;
import dev.coffer.server.token.ComplianceClaims;
import dev.coffer.server.token.TokenIssuer;
import dev.coffer.server.vault.AdminTokens;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The attestation service: one {@code POST /attest/<endpoint>} per endpoint of the declared
 * evidence kinds ({@link EvidenceKind#endpoints()}), every one verified through the one
 * {@link EvidenceVerifier}. {@code POST /attest/SevSnpVm} takes SEV-SNP (and, only with
 * --trust-sim, simulated) evidence in MAA's request shape, verifies it, appraises it ({@link AppraisalPolicy}), checks that the runtime
 * data is bound into REPORT_DATA, and returns a token with MAA's claim names.
 *
 * <p>Request: {@code {"report": base64url(JSON{"SnpReport": base64url(1184 bytes),
 * "VcekCertChain": base64url(PEM bundle)}), "runtimeData": {"data": base64url, "dataType":
 * "JSON"|"Binary"}, "nonce": "..."}}. SHA-256 of the runtime data bytes must equal the first
 * 32 bytes of REPORT_DATA; JSON runtime data (the SKR sidecar's JWK set) becomes the
 * {@code x-ms-runtime} claim.
 */
public final class AttestationService {
    static final List<String> CLAIMS_SUPPORTED = List.of("x-ms-attestation-type", "x-ms-ver", "x-ms-policy-hash",
            "x-ms-runtime", "x-ms-sevsnpvm-authorkeydigest", "x-ms-sevsnpvm-bootloader-svn", "x-ms-sevsnpvm-familyId",
            "x-ms-sevsnpvm-guestsvn", "x-ms-sevsnpvm-hostdata", "x-ms-sevsnpvm-idkeydigest", "x-ms-sevsnpvm-imageId",
            "x-ms-sevsnpvm-is-debuggable", "x-ms-sevsnpvm-launchmeasurement", "x-ms-sevsnpvm-microcode-svn",
            "x-ms-sevsnpvm-migration-allowed", "x-ms-sevsnpvm-reportdata", "x-ms-sevsnpvm-reportid",
            "x-ms-sevsnpvm-smt-allowed", "x-ms-sevsnpvm-snpfw-svn", "x-ms-sevsnpvm-tee-svn", "x-ms-sevsnpvm-vmpl",
            "x-coffer-tee", ComplianceClaims.COMPLIANCE_STATUS, ComplianceClaims.ENDORSEMENT_ISSUER,
            ComplianceClaims.ENDORSEMENT_FEED, ComplianceClaims.ENDORSEMENT_SVN, ComplianceClaims.MEASUREMENT_UNCHECKED,
            ComplianceClaims.MEASUREMENT_SOURCE, "nonce", "iss", "iat", "nbf", "exp", "jti");
    /** Every claim a token may carry: SEV-SNP's above, and those of SGX enclaves and TDX guests. */
    static final List<String> ALL_CLAIMS_SUPPORTED = java.util.stream.Stream.of(CLAIMS_SUPPORTED, DcapAttestation.SGX_CLAIMS,
            DcapAttestation.TDX_CLAIMS, DcapAttestation.COMMON_CLAIMS).flatMap(List::stream).distinct().toList();
    static final String REFERENCE_KIND = "measurement";
    private static final HexFormat HEX = HexFormat.of();
    private static final int MAX_RUNTIME_DATA = 64 * 1024;
    private static final int MAX_NONCE = 1024;

    /** SEV-SNP and simulated evidence; simulated verifies only when the operator started the server with --trust-sim. */
    private final EvidenceVerifier verifier;
    private final AppraisalPolicy appraisal;
    private final TokenIssuer issuer;
    private final VaultStore store;
    private final ServerConfig config;
    private final EndorsementGate endorsements;
    private final String policyHash;
    /** VCEK/ASK/ARK bundles as guests send them with every report, parsed once per distinct bundle. */
    private final ExactBytesCache<List<AmdCertificate>> bundles = new ExactBytesCache<>(ExactBytesCache.DEFAULT_CAPACITY,
            pem -> List.copyOf(dev.coffer.attest.cert.Certificates.parsePem(new String(pem, StandardCharsets.ISO_8859_1))));
    /** Evidence verification is the CPU-heavy work: served in arrival order, bounded (see AdmissionQueue). */
    private final dev.coffer.server.http.AdmissionQueue verification =
            new dev.coffer.server.http.AdmissionQueue(dev.coffer.server.http.AdmissionQueue.Settings.defaults());
    private volatile List<String> referenceMeasurements;
    private volatile long referencesLoadedNanos;
    /** SGX enclaves and TDX guests (Intel DCAP quotes), on the same token issuer. */
    private final DcapAttestation dcap;

    AttestationService(SnpVerifier verifier, AppraisalPolicy appraisal, TokenIssuer issuer, VaultStore store, ServerConfig config,
                       EndorsementGate endorsements) {
        this.verifier = new EvidenceVerifier(verifier);
        this.endorsements = endorsements;
        this.appraisal = appraisal;
        this.issuer = issuer;
        this.store = store;
        this.config = config;
        this.dcap = new DcapAttestation(config, issuer);
        this.policyHash = Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(appraisal.describe().getBytes(StandardCharsets.UTF_8)));
        reloadReferences();
    }

    static AttestationService create(ServerConfig config, VaultStore store, TokenIssuer issuer) {
        // Debug is an appraisal rule here, so verification itself accepts the debug bit.
        VerifierPolicy.Builder policy = VerifierPolicy.builder().allowDebug(true).clock(config.clock());
        if (config.trustSim()) {
            policy.trustSimRoot(SimulatedSecureProcessor.openOrCreate(config.home().resolve("sim-tee")).ark());
        }
        // SMT is reported (token, appraisal input), not refused, as MAA does; a migration agent stays refused.
        policy.allowSmt(true);
        for (RevocationList crl : crls(config)) policy.crl(crl);
        return new AttestationService(new SnpVerifier(policy.build()), appraisalPolicy(config), issuer, store, config,
                EndorsementGate.create(config, store));
    }

    /**
     * AMD's CRLs: the configured files (DER or PEM), then, when asked, each product's CRL through
     * the KDS cache. A CRL the operator asked for and that cannot be had stops the start: a
     * server that silently skipped revocation would issue tokens for revoked chips.
     */
    static List<RevocationList> crls(ServerConfig config) {
        List<RevocationList> out = new ArrayList<>();
        for (java.nio.file.Path f : config.appraisalSettings().crlFiles()) {
            byte[] bytes;
            try {
                bytes = java.nio.file.Files.readAllBytes(f);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the CRL file " + f + ": " + e.getMessage(), e);
            }
            try {
                out.add(RevocationList.fromDer(pemOrDer(bytes)));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("the CRL file " + f + " is not an X.509 CRL (DER or PEM): " + e.getMessage(), e);
            }
        }
        if (config.appraisalSettings().fetchCrls()) {
            KdsClient kds = KdsClient.amd(config.home().resolve("cache").resolve("kds"), false);
            for (Product p : Product.values()) {
                try {
                    out.add(kds.crl(p));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("cannot fetch AMD's CRL for " + p.kdsName() + " from the KDS (or its cache "
                            + config.home().resolve("cache").resolve("kds") + "): " + e.getMessage()
                            + "; pass it as a file with --crl FILE instead", e);
                }
            }
        }
        return out;
    }

    private static byte[] pemOrDer(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN X509 CRL-----");
        if (begin < 0) return bytes;
        int end = text.indexOf("-----END X509 CRL-----", begin);
        if (end < 0) throw new IllegalArgumentException("PEM CRL without its END line");
        return Base64.getMimeDecoder().decode(text.substring(begin + "-----BEGIN X509 CRL-----".length(), end));
    }

    /** The operator's Rego module when configured, else the built-in default Rego policy. */
    static AppraisalPolicy appraisalPolicy(ServerConfig config) {
        if (config.appraisalPolicy() == null) return RegoAppraisalPolicy.defaultPolicy();
        try {
            return RegoAppraisalPolicy.compile(config.appraisalPolicy().getFileName().toString(),
                    java.nio.file.Files.readString(config.appraisalPolicy()));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the appraisal policy " + config.appraisalPolicy() + ": " + e.getMessage(), e);
        }
    }

    /** The verification queue's counters (waiting, running, admitted, refused). */
    dev.coffer.server.http.AdmissionQueue.Stats verificationQueue() {
        return verification.stats();
    }

    void register(Router r, AdminTokens admins) {
        for (String endpoint : EvidenceKind.endpoints()) {
            EvidenceKind first = EvidenceKind.atEndpoint(endpoint).getFirst();
            r.add("POST", "/attest/" + endpoint, verification.guard(req -> HttpResponse.ok(Map.of("token", attest(first, req)))));
        }
        dcap.register(r, admins);
        endorsements.register(r, admins);
        r.add("GET", "/admin/reference-values", req -> {
            admins.require(req.header("Authorization"));
            return HttpResponse.ok(Map.of("measurements", referenceMeasurements()));
        });
        r.add("POST", "/admin/reference-values", req -> {
            admins.require(req.header("Authorization"));
            String m = measurementArg(req);
            store.addReferenceValue(REFERENCE_KIND, m, Json.optionalText(Json.parseObject(req.body(), "reference value"), "note",
                    "reference value"), config.clock().instant());
            reloadReferences();
            return HttpResponse.ok(Map.of("measurements", referenceMeasurements()));
        });
        r.add("DELETE", "/admin/reference-values/{measurement}", req -> {
            admins.require(req.header("Authorization"));
            String m = req.pathParam("measurement").toLowerCase();
            if (!store.removeReferenceValue(REFERENCE_KIND, m)) {
                throw new ApiException(ErrorCode.NOT_FOUND, "measurement " + KeyText.safe(m) + " is not a stored reference value");
            }
            reloadReferences();
            return HttpResponse.ok(Map.of("measurements", referenceMeasurements()));
        });
    }

    List<String> trustedEndorsers() {
        return endorsements.trusted().stream().map(t -> t.did() + (t.feed() == null ? " (any feed)" : " feed " + t.feed())
                + ", guest svn >= " + t.minimumGuestSvn()).toList();
    }

    public AppraisalPolicy appraisalPolicy() {
        return appraisal;
    }

    /** Configured plus stored reference measurements (stored ones re-read every 10 s for multi-server setups). */
    public List<String> referenceMeasurements() {
        if (System.nanoTime() - referencesLoadedNanos > 10_000_000_000L) reloadReferences();
        return referenceMeasurements;
    }

    private void reloadReferences() {
        Set<String> all = new LinkedHashSet<>();
        for (String m : config.measurements()) all.add(m.toLowerCase());
        all.addAll(store.referenceValues(REFERENCE_KIND));
        referenceMeasurements = List.copyOf(all);
        referencesLoadedNanos = System.nanoTime();
    }

    private static String measurementArg(HttpRequest req) {
        ObjectNode body = Json.parseObject(req.body(), "reference value");
        String m = Json.requiredText(body, "measurement", "reference value").toLowerCase();
        if (!m.matches("[0-9a-f]{96}")) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "reference value: 'measurement' must be 96 hex digits (48 bytes), found "
                    + m.length() + " characters");
        }
        return m;
    }

    /** The request at the endpoint of {@code kind}: a new kind is a new case here, which the compiler asks for. */
    private String attest(EvidenceKind kind, HttpRequest req) {
        return switch (kind) {
            case SEV_SNP, SIMULATED -> attest(req);
            case SGX, TDX -> dcap.attest(req, kind);
        };
    }

    private String attest(HttpRequest req) {
        ObjectNode body = Json.parseObject(req.body(), "attest");
        String reportField = Json.requiredText(body, "report", "attest");
        ObjectNode inner;
        try {
            JsonNode n = Json.MAPPER.readTree(b64url(reportField, "report"));
            if (!(n instanceof ObjectNode o)) throw new IOException("not a JSON object");
            inner = o;
        } catch (IOException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: 'report' must be base64url of a JSON object "
                    + "{\"SnpReport\": ..., \"VcekCertChain\": ...} (" + e.getMessage() + ")");
        }
        byte[] reportBytes = b64url(Json.requiredText(inner, "SnpReport", "attest report"), "report.SnpReport");
        byte[] chain = inner.hasNonNull("VcekCertChain")
                ? b64url(Json.requiredText(inner, "VcekCertChain", "attest report"), "report.VcekCertChain")
                : new byte[0];
        List<byte[]> presented = inner.hasNonNull("Endorsements")
                ? EndorsementGate.presented(b64url(Json.requiredText(inner, "Endorsements", "attest report"), "report.Endorsements"))
                : List.of();
        byte[] runtimeData = null;
        String dataType = null;
        JsonNode rd = body.get("runtimeData");
        if (rd != null && !rd.isNull()) {
            if (!(rd instanceof ObjectNode rdo)) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: 'runtimeData' must be {\"data\": base64url, \"dataType\": \"JSON\"|\"Binary\"}");
            }
            runtimeData = b64url(Json.requiredText(rdo, "data", "attest runtimeData"), "runtimeData.data");
            if (runtimeData.length > MAX_RUNTIME_DATA) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: runtimeData is " + runtimeData.length + " bytes; the limit is " + MAX_RUNTIME_DATA);
            }
            dataType = Json.optionalText(rdo, "dataType", "attest runtimeData");
            if (dataType == null) dataType = "JSON";
            if (!dataType.equals("JSON") && !dataType.equals("Binary")) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: runtimeData.dataType must be JSON or Binary, found '" + KeyText.safe(dataType) + "'");
            }
        }
        String nonce = Json.optionalText(body, "nonce", "attest");
        if (nonce != null && nonce.length() > MAX_NONCE) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: nonce is longer than " + MAX_NONCE + " characters");
        }
        return attest(reportBytes, chain, presented, runtimeData, dataType, nonce);
    }

    /**
     * Verifies and appraises one report and issues a token. {@code chainPem} holds the VCEK and
     * optionally ASK and ARK, in any order. {@code runtimeData} may be null (then REPORT_DATA is
     * not checked and the token has no {@code x-ms-runtime}).
     */
    public String attest(byte[] reportBytes, String chainPem, byte[] runtimeData, String dataType, String nonce) {
        return attest(reportBytes, chainPem.getBytes(StandardCharsets.UTF_8), List.of(), runtimeData, dataType, nonce);
    }

    /** As {@link #attest(byte[], String, byte[], String, String)}, with guest endorsements (COSE_Sign1) presented with the evidence. */
    public String attest(byte[] reportBytes, String chainPem, List<byte[]> endorsements, byte[] runtimeData, String dataType, String nonce) {
        return attest(reportBytes, chainPem.getBytes(StandardCharsets.UTF_8), endorsements, runtimeData, dataType, nonce);
    }

    private String attest(byte[] reportBytes, byte[] chainPem, List<byte[]> presentedEndorsements, byte[] runtimeData,
                          String dataType, String nonce) {
        // Endorsements are parsed before any cryptography: garbage is a 400 whatever the report.
        List<dev.coffer.attest.endorse.GuestEndorsement> presented = new ArrayList<>();
        for (int i = 0; i < presentedEndorsements.size(); i++) {
            presented.add(endorsements.parse(presentedEndorsements.get(i), "attest: report.Endorsements.Uvm[" + i + "]"));
        }
        List<AmdCertificate> certs;
        try {
            certs = isBlank(chainPem) ? List.of() : bundles.parse(chainPem);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: VcekCertChain is not a PEM certificate bundle: " + e.getMessage());
        }
        // SEV-SNP or simulated, as the chain presents itself; the verifier checks that claim against the root it ends at.
        Evidence evidence;
        try {
            evidence = Evidence.snpFormat(reportBytes, certs);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: " + e.getMessage());
        }
        if (certs.stream().noneMatch(c -> c.role().isEndorsementKey())) {
            throw new ApiException(ErrorCode.COLLATERAL_UNAVAILABLE, "attest: no VCEK or VLEK certificate in VcekCertChain, and this "
                    + "server does not fetch collateral from AMD's KDS; include the VCEK (e.g. from the host's certificate cache)");
        }
        Attestation verdict;
        try {
            verdict = verifier.verify(evidence, config.clock().instant());
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.EVIDENCE_INVALID, "attest: " + e.getMessage());
        }
        if (!verdict.valid()) {
            boolean simChain = evidence.kind() == EvidenceKind.SIMULATED
                    || verdict.check("certificate_chain").map(c -> c.failed() && c.detail().contains("simulated")).orElse(false);
            if (simChain && !verifier.acceptsSimulated() && verdict.check("certificate_chain").map(CheckResult::failed).orElse(false)) {
                throw new ApiException(ErrorCode.SIMULATED_EVIDENCE_REFUSED, "attest: the evidence comes from a simulated secure "
                        + "processor, which this server does not trust; start it with --trust-sim (development only)");
            }
            List<String> failed = new ArrayList<>();
            for (CheckResult f : verdict.failures()) failed.add(f.name() + ": " + f.detail());
            boolean revoked = verdict.check("revocation").map(c -> c.failed() && c.detail().contains("revoked")).orElse(false);
            throw new ApiException(revoked ? ErrorCode.CERTIFICATE_REVOKED : ErrorCode.EVIDENCE_INVALID,
                    "attest: evidence failed verification: " + String.join("; ", failed)
                    + (revoked ? "; AMD revoked this chip's key: no token is issued for it" : ""));
        }
        String tee = verdict.kind().label();
        // The per-product minimum TCB is an SEV-SNP concern: read from the SNP verifier's own verdict.
        checkMinimumTcb(verdict.snpVerdict().orElseThrow());
        byte[] reportData = evidence.reportData();
        if (runtimeData != null) {
            byte[] digest = sha256(runtimeData);
            if (!MessageDigest.isEqual(digest, Arrays.copyOf(reportData, 32))) {
                throw new ApiException(ErrorCode.RUNTIME_DATA_MISMATCH, "attest: SHA-256 of runtimeData is " + HEX.formatHex(digest)
                        + " but REPORT_DATA starts with " + HEX.formatHex(reportData, 0, 32)
                        + "; the runtime data (e.g. its key) is not the one the guest bound into its report");
            }
        }
        Map<String, Object> f = verdict.claims().fields();
        Map<?, ?> guestPolicy = (Map<?, ?>) f.get("policy");
        String measurement = verdict.claims().measurement();
        MeasurementAcceptance accepted = acceptMeasurement(measurement, presented);
        AppraisalDecision decision = appraisal.appraise(new AppraisalInput(tee, verdict.claims().debuggable(), measurement,
                verdict.claims().launchData(), config.allowDebug(), referenceMeasurements(), (Integer) f.get("vmpl"),
                (Boolean) guestPolicy.get("smt"), (Boolean) guestPolicy.get("migrate_ma"), accepted.source(), accepted.complianceStatus()));
        if (!decision.accepted()) {
            throw new ApiException(ErrorCode.POLICY_DENIED, "attest: appraisal rule '" + decision.rule() + "' denied: " + decision.reason());
        }
        return issuer.issue(claims(verdict, accepted, runtimeData, dataType, nonce));
    }

    /**
     * How a MEASUREMENT earned a token: endorsed (with the endorsement's facts), a reference
     * value, or unchecked (only with --accept-any-measurement).
     */
    record MeasurementAcceptance(String source, String complianceStatus, String issuer, String feed, String svn) {
        static final String ENDORSEMENT = "endorsement", REFERENCE_VALUE = "reference-value", UNCHECKED = "unchecked";
    }

    /**
     * The fail-closed gate. It runs here, before and outside the (replaceable) appraisal policy,
     * so that no policy can open it: HOST_DATA is chosen by the host, so a token for an
     * unendorsed MEASUREMENT would hand a victim's keys to any guest the host boots with the
     * victim's host data.
     */
    private MeasurementAcceptance acceptMeasurement(String measurement, List<dev.coffer.attest.endorse.GuestEndorsement> presented) {
        List<String> why = new ArrayList<>();
        var endorsed = endorsements.find(measurement, presented, why);
        if (endorsed.isPresent()) return endorsed.get();
        if (referenceMeasurements().contains(measurement)) {
            return new MeasurementAcceptance(MeasurementAcceptance.REFERENCE_VALUE, null, null, null, null);
        }
        if (config.appraisalSettings().acceptAnyMeasurement()) {
            return new MeasurementAcceptance(MeasurementAcceptance.UNCHECKED, null, null, null, null);
        }
        throw new ApiException(ErrorCode.MEASUREMENT_NOT_ENDORSED, "attest: MEASUREMENT " + measurement + " is not endorsed by a "
                + "trusted endorser and is not a reference value, so this guest is not one the service vouches for"
                + (why.isEmpty() ? " (no endorsement for it was presented or registered)" : " (" + String.join("; ", why) + ")")
                + ". To accept it: endorse the guest image (coffer guest endorse) and send the endorsement with the evidence "
                + "(report.Endorsements) or register it (coffer server endorsement add FILE); or add the MEASUREMENT as a "
                + "reference value (POST /admin/reference-values); or, for development only, start the server with "
                + "--accept-any-measurement");
    }

    /** The configured minimum REPORTED_TCB for the evidence's product, component by component. */
    private void checkMinimumTcb(Verdict snp) {
        java.util.Optional<Product> product = snp.product();
        if (product.isEmpty()) return;
        TcbVersion min = config.appraisalSettings().minimumTcb().get(product.get());
        if (min == null) return;
        TcbVersion tcb = TcbVersion.decode(snp.report().reportedTcb().bytes(), 0, product.get().tcbLayout());
        List<String> low = new ArrayList<>();
        if (min.fmc() >= 0 && tcb.fmc() < min.fmc()) low.add("fmc " + tcb.fmc() + " < " + min.fmc());
        if (tcb.bootloader() < min.bootloader()) low.add("bootloader " + tcb.bootloader() + " < " + min.bootloader());
        if (tcb.tee() < min.tee()) low.add("tee " + tcb.tee() + " < " + min.tee());
        if (tcb.snp() < min.snp()) low.add("snp " + tcb.snp() + " < " + min.snp());
        if (tcb.microcode() < min.microcode()) low.add("microcode " + tcb.microcode() + " < " + min.microcode());
        if (!low.isEmpty()) {
            throw new ApiException(ErrorCode.TCB_BELOW_MINIMUM, "attest: REPORTED_TCB of this " + product.get().kdsName()
                    + " platform is below the configured minimum: " + String.join(", ", low)
                    + "; the host must update its firmware (or the operator lower --min-tcb)");
        }
    }

    /**
     * MAA's SEV-SNP claims, read from the one claims model (the report's fields by their stable
     * names); the simulated TEE gets the same claims under its own attestation type.
     */
    private Map<String, Object> claims(Attestation a, MeasurementAcceptance accepted, byte[] runtimeData,
                                       String dataType, String nonce) {
        Map<String, Object> f = a.claims().fields();
        Map<?, ?> tcb = (Map<?, ?>) f.get("reported_tcb");
        Map<?, ?> guestPolicy = (Map<?, ?>) f.get("policy");
        String tee = a.kind().label();
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("x-ms-attestation-type", a.kind().attestationType());
        c.put("x-ms-ver", "1.0");
        c.put("x-ms-policy-hash", policyHash);
        c.put("x-ms-sevsnpvm-authorkeydigest", f.get("author_key_digest"));
        c.put("x-ms-sevsnpvm-bootloader-svn", tcb.get("bootloader"));
        c.put("x-ms-sevsnpvm-familyId", f.get("family_id"));
        c.put("x-ms-sevsnpvm-guestsvn", f.get("guest_svn"));
        c.put("x-ms-sevsnpvm-hostdata", a.claims().launchData());
        c.put("x-ms-sevsnpvm-idkeydigest", f.get("id_key_digest"));
        c.put("x-ms-sevsnpvm-imageId", f.get("image_id"));
        // The guest policy's bit, as MAA reports it. That nothing protects a simulated guest is said by
        // its own attestation type (coffer-sim-sevsnpvm) and x-coffer-tee, which no hardware policy matches.
        c.put("x-ms-sevsnpvm-is-debuggable", a.claims().debuggable());
        c.put("x-ms-sevsnpvm-launchmeasurement", a.claims().measurement());
        c.put("x-ms-sevsnpvm-microcode-svn", tcb.get("microcode"));
        c.put("x-ms-sevsnpvm-migration-allowed", guestPolicy.get("migrate_ma"));
        c.put("x-ms-sevsnpvm-reportdata", a.claims().reportData());
        c.put("x-ms-sevsnpvm-reportid", f.get("report_id"));
        c.put("x-ms-sevsnpvm-smt-allowed", guestPolicy.get("smt"));
        c.put("x-ms-sevsnpvm-snpfw-svn", tcb.get("snp"));
        c.put("x-ms-sevsnpvm-tee-svn", tcb.get("tee"));
        c.put("x-ms-sevsnpvm-vmpl", f.get("vmpl"));
        c.put("x-coffer-tee", tee);
        c.put(ComplianceClaims.MEASUREMENT_SOURCE, accepted.source());
        if (accepted.complianceStatus() != null) {
            c.put(ComplianceClaims.COMPLIANCE_STATUS, accepted.complianceStatus());
            c.put(ComplianceClaims.ENDORSEMENT_ISSUER, accepted.issuer());
            c.put(ComplianceClaims.ENDORSEMENT_FEED, accepted.feed());
            c.put(ComplianceClaims.ENDORSEMENT_SVN, accepted.svn());
        }
        if (MeasurementAcceptance.UNCHECKED.equals(accepted.source())) c.put(ComplianceClaims.MEASUREMENT_UNCHECKED, true);
        putRuntimeClaims(c, runtimeData, dataType, nonce);
        return c;
    }

    /**
     * The claims every attestation type carries from the request: the runtime data (as
     * {@code x-ms-runtime} when its type is JSON, as Azure does) and the caller's nonce.
     */
    static void putRuntimeClaims(Map<String, Object> c, byte[] runtimeData, String dataType, String nonce) {
        if (runtimeData != null && "JSON".equals(dataType)) {
            try {
                c.put("x-ms-runtime", Json.MAPPER.readValue(runtimeData, Object.class));
            } catch (IOException e) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: runtimeData has dataType JSON but is not JSON: "
                        + e.getMessage().split("\n")[0]);
            }
        }
        if (nonce != null) c.put("nonce", nonce);
    }

    private static boolean isBlank(byte[] text) {
        for (byte b : text) {
            if (!Character.isWhitespace(b & 0xff)) return false;
        }
        return true;
    }

    /**
     * base64url, leniently: standard-alphabet characters, padding and surrounding whitespace are
     * accepted as clients send them. Clean base64url (the usual case) is decoded as is, by the
     * JDK's vectorised decoder; only text it refuses pays for normalising copies and a retry.
     */
    static byte[] b64url(String text, String field) {
        try {
            return Base64.getUrlDecoder().decode(text);
        } catch (IllegalArgumentException notPlain) {
            // fall through: standard alphabet, whitespace or stray padding
        }
        try {
            return Base64.getUrlDecoder().decode(text.strip().replace('+', '-').replace('/', '_').replace("=", ""));
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: '" + field + "' is not base64url (" + e.getMessage() + ")");
        }
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Bounded, printable echo of caller text. */
    static final class KeyText {
        private KeyText() {}

        static String safe(String s) {
            if (s == null) return "";
            String t = s.length() > 100 ? s.substring(0, 100) + "..." : s;
            return t.replaceAll("\\p{Cntrl}", "?");
        }
    }
}
