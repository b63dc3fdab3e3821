package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.cert.AmdCertificate;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.TeeKind;
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
 * The attestation service: {@code POST /attest/SevSnpVm} takes evidence in MAA's request shape,
 * verifies it (attest module), appraises it ({@link AppraisalPolicy}), checks that the runtime
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
            "x-coffer-tee", "nonce", "iss", "iat", "nbf", "exp", "jti");
    static final String REFERENCE_KIND = "measurement";
    private static final HexFormat HEX = HexFormat.of();
    private static final int MAX_RUNTIME_DATA = 64 * 1024;
    private static final int MAX_NONCE = 1024;

    private final SnpVerifier verifier;
    private final AppraisalPolicy appraisal;
    private final TokenIssuer issuer;
    private final VaultStore store;
    private final ServerConfig config;
    private final String policyHash;
    private final CertificateBundleCache bundles = new CertificateBundleCache(CertificateBundleCache.DEFAULT_CAPACITY);
    private volatile List<String> referenceMeasurements;
    private volatile long referencesLoadedNanos;

    AttestationService(SnpVerifier verifier, AppraisalPolicy appraisal, TokenIssuer issuer, VaultStore store, ServerConfig config) {
        this.verifier = verifier;
        this.appraisal = appraisal;
        this.issuer = issuer;
        this.store = store;
        this.config = config;
        this.policyHash = Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(appraisal.describe().getBytes(StandardCharsets.UTF_8)));
        reloadReferences();
    }

    static AttestationService create(ServerConfig config, VaultStore store, TokenIssuer issuer) {
        // Debug is an appraisal rule here, so verification itself accepts the debug bit.
        VerifierPolicy.Builder policy = VerifierPolicy.builder().allowDebug(true).clock(config.clock());
        if (config.trustSim()) {
            policy.trustSimRoot(SimulatedSecureProcessor.openOrCreate(config.home().resolve("sim-tee")).ark());
        }
        return new AttestationService(new SnpVerifier(policy.build()), appraisalPolicy(config), issuer, store, config);
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

    void register(Router r, AdminTokens admins) {
        r.add("POST", "/attest/SevSnpVm", req -> HttpResponse.ok(Map.of("token", attest(req))));
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
        return attest(reportBytes, chain, runtimeData, dataType, nonce);
    }

    /**
     * Verifies and appraises one report and issues a token. {@code chainPem} holds the VCEK and
     * optionally ASK and ARK, in any order. {@code runtimeData} may be null (then REPORT_DATA is
     * not checked and the token has no {@code x-ms-runtime}).
     */
    public String attest(byte[] reportBytes, String chainPem, byte[] runtimeData, String dataType, String nonce) {
        return attest(reportBytes, chainPem.getBytes(StandardCharsets.UTF_8), runtimeData, dataType, nonce);
    }

    private String attest(byte[] reportBytes, byte[] chainPem, byte[] runtimeData, String dataType, String nonce) {
        SnpReport report;
        try {
            report = SnpReport.parse(reportBytes);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: " + e.getMessage());
        }
        List<AmdCertificate> certs;
        try {
            certs = isBlank(chainPem) ? List.of() : bundles.parse(chainPem);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: VcekCertChain is not a PEM certificate bundle: " + e.getMessage());
        }
        if (certs.stream().noneMatch(c -> c.role().isEndorsementKey())) {
            throw new ApiException(ErrorCode.COLLATERAL_UNAVAILABLE, "attest: no VCEK or VLEK certificate in VcekCertChain, and this "
                    + "server does not fetch collateral from AMD's KDS; include the VCEK (e.g. from the host's certificate cache)");
        }
        Verdict verdict;
        try {
            verdict = verifier.verify(report, certs);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.EVIDENCE_INVALID, "attest: " + e.getMessage());
        }
        if (!verdict.valid()) {
            boolean simChain = certs.stream().anyMatch(c -> c.subjectCn() != null && c.subjectCn().contains("Sim"))
                    || verdict.check("certificate_chain").map(c -> c.failed() && c.detail().contains("simulated")).orElse(false);
            if (simChain && !config.trustSim() && verdict.check("certificate_chain").map(CheckResult::failed).orElse(false)) {
                throw new ApiException(ErrorCode.SIMULATED_EVIDENCE_REFUSED, "attest: the evidence comes from a simulated secure "
                        + "processor, which this server does not trust; start it with --trust-sim (development only)");
            }
            List<String> failed = new ArrayList<>();
            for (CheckResult f : verdict.failures()) failed.add(f.name() + ": " + f.detail());
            throw new ApiException(ErrorCode.EVIDENCE_INVALID, "attest: evidence failed verification: " + String.join("; ", failed));
        }
        String tee = verdict.tee() == TeeKind.SIM ? "sim" : "snp";
        byte[] reportData = report.reportData();
        if (runtimeData != null) {
            byte[] digest = sha256(runtimeData);
            if (!MessageDigest.isEqual(digest, Arrays.copyOf(reportData, 32))) {
                throw new ApiException(ErrorCode.RUNTIME_DATA_MISMATCH, "attest: SHA-256 of runtimeData is " + HEX.formatHex(digest)
                        + " but REPORT_DATA starts with " + HEX.formatHex(reportData, 0, 32)
                        + "; the runtime data (e.g. its key) is not the one the guest bound into its report");
            }
        }
        AppraisalDecision decision = appraisal.appraise(new AppraisalInput(tee, report.policy().debug(),
                HEX.formatHex(report.measurement()), HEX.formatHex(report.hostData()), config.allowDebug(), referenceMeasurements()));
        if (!decision.accepted()) {
            throw new ApiException(ErrorCode.POLICY_DENIED, "attest: appraisal rule '" + decision.rule() + "' denied: " + decision.reason());
        }
        return issuer.issue(claims(report, tee, runtimeData, dataType, nonce));
    }

    private Map<String, Object> claims(SnpReport r, String tee, byte[] runtimeData, String dataType, String nonce) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("x-ms-attestation-type", "sevsnpvm");
        c.put("x-ms-ver", "1.0");
        c.put("x-ms-policy-hash", policyHash);
        c.put("x-ms-sevsnpvm-authorkeydigest", HEX.formatHex(r.authorKeyDigest()));
        c.put("x-ms-sevsnpvm-bootloader-svn", r.reportedTcb().bootloader());
        c.put("x-ms-sevsnpvm-familyId", HEX.formatHex(r.familyId()));
        c.put("x-ms-sevsnpvm-guestsvn", r.guestSvn());
        c.put("x-ms-sevsnpvm-hostdata", HEX.formatHex(r.hostData()));
        c.put("x-ms-sevsnpvm-idkeydigest", HEX.formatHex(r.idKeyDigest()));
        c.put("x-ms-sevsnpvm-imageId", HEX.formatHex(r.imageId()));
        // Simulated evidence is always marked debuggable: nothing protects a simulated guest.
        c.put("x-ms-sevsnpvm-is-debuggable", tee.equals("sim") || r.policy().debug());
        c.put("x-ms-sevsnpvm-launchmeasurement", HEX.formatHex(r.measurement()));
        c.put("x-ms-sevsnpvm-microcode-svn", r.reportedTcb().microcode());
        c.put("x-ms-sevsnpvm-migration-allowed", r.policy().migrationAgent());
        c.put("x-ms-sevsnpvm-reportdata", HEX.formatHex(r.reportData()));
        c.put("x-ms-sevsnpvm-reportid", HEX.formatHex(r.reportId()));
        c.put("x-ms-sevsnpvm-smt-allowed", r.policy().smt());
        c.put("x-ms-sevsnpvm-snpfw-svn", r.reportedTcb().snp());
        c.put("x-ms-sevsnpvm-tee-svn", r.reportedTcb().tee());
        c.put("x-ms-sevsnpvm-vmpl", r.vmpl());
        c.put("x-coffer-tee", tee);
        if (runtimeData != null && "JSON".equals(dataType)) {
            try {
                c.put("x-ms-runtime", Json.MAPPER.readValue(runtimeData, Object.class));
            } catch (IOException e) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "attest: runtimeData has dataType JSON but is not JSON: "
                        + e.getMessage().split("\n")[0]);
            }
        }
        if (nonce != null) c.put("nonce", nonce);
        return c;
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
    private static byte[] b64url(String text, String field) {
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
