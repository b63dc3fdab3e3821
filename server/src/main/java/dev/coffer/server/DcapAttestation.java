package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.dcap.Collateral;
import dev.coffer.attest.dcap.CollateralSet;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.DcapVerifier;
import dev.coffer.attest.dcap.QuoteFormatException;
import dev.coffer.attest.evidence.Attestation;
import dev.coffer.attest.evidence.Evidence;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.attest.evidence.EvidenceVerifier;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.VerifierPolicy;
import dev.coffer.server.appraisal.AppraisalDecision;
import dev.coffer.server.appraisal.DcapAppraisalPolicy;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.HttpRequest;
import dev.coffer.server.http.HttpResponse;
import dev.coffer.server.http.Json;
import dev.coffer.server.http.Router;
import dev.coffer.server.token.TokenIssuer;
import dev.coffer.server.vault.AdminTokens;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SGX enclaves and TDX guests, the way Azure Attestation takes them: {@code POST /attest/SgxEnclave}
 * and {@code POST /attest/TdxVm} with {@code {"quote": base64url, "runtimeData": {"data":
 * base64url, "dataType": "JSON"|"Binary"}, "nonce": "..."}}. SHA-256 of the runtime data must be
 * the first 32 bytes of REPORTDATA (MAA's binding); JSON runtime data becomes {@code x-ms-runtime}.
 *
 * <p>Collateral comes from the operator only ({@code $COFFER_HOME/collateral/intel/*.json}, or
 * {@code POST /admin/collateral/intel}): collateral from the evidence's host could be an older,
 * still-signed TCB info that predates a recall, so a request carrying collateral is refused.
 */
final class DcapAttestation {
    /** The token claims of each kind, in the names MAA uses (declared once; discovery lists them). */
    static final List<String> SGX_CLAIMS = List.of("x-ms-sgx-mrenclave", "x-ms-sgx-mrsigner", "x-ms-sgx-product-id", "x-ms-sgx-svn",
            "x-ms-sgx-is-debuggable", "x-ms-sgx-report-data", "x-ms-sgx-ehd", "x-ms-sgx-config-id", "x-ms-sgx-config-svn",
            "x-ms-sgx-isv-extended-product-id", "x-ms-sgx-isv-family-id", "x-ms-sgx-tcbidentifier");
    static final List<String> TDX_CLAIMS = List.of("tdx_mrtd", "tdx_rtmr0", "tdx_rtmr1", "tdx_rtmr2", "tdx_rtmr3", "tdx_mrconfigid",
            "tdx_mrowner", "tdx_mrownerconfig", "tdx_mrseam", "tdx_mrsignerseam", "tdx_seam_attributes", "tdx_td_attributes",
            "tdx_td_attributes_debug", "tdx_xfam", "tdx_tee_tcb_svn", "tdx_report_data", "tdx_mrservicetd", "tdx_tee_tcb_svn2");
    static final List<String> COMMON_CLAIMS = List.of("attester_tcb_status", "attester_advisory_ids");
    private static final HexFormat HEX = HexFormat.of();
    private static final int MAX_RUNTIME_DATA = 64 * 1024;
    private static final int MAX_NONCE = 1024;

    private final ServerConfig config;
    private final TokenIssuer issuer;
    private final DcapAppraisalPolicy appraisal;
    private final Path collateralDir;
    private final String policyHash;
    private volatile EvidenceVerifier verifier;
    private volatile CollateralSet collateral;

    DcapAttestation(ServerConfig config, TokenIssuer issuer) {
        this.config = config;
        this.issuer = issuer;
        this.appraisal = DcapAppraisalPolicy.load(config.home().resolve("server"));
        this.collateralDir = config.home().resolve("collateral").resolve("intel");
        this.policyHash = Base64.getUrlEncoder().withoutPadding().encodeToString(
                AttestationService.sha256(appraisal.describe().getBytes(StandardCharsets.UTF_8)));
        reload();
    }

    /** The operator's collateral endpoints; the quote endpoints are routed by {@link AttestationService}, behind its verification queue. */
    void register(Router r, AdminTokens admins) {
        r.add("GET", "/admin/collateral/intel", req -> {
            admins.require(req.header("Authorization"));
            return HttpResponse.ok(Map.of("covers", collateral.covers()));
        });
        r.add("POST", "/admin/collateral/intel", req -> {
            admins.require(req.header("Authorization"));
            Collateral c;
            try {
                c = Collateral.parseBundle(new String(req.body(), StandardCharsets.UTF_8));
            } catch (QuoteFormatException e) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "collateral: " + e.getMessage());
            }
            store(c);
            return HttpResponse.ok(Map.of("covers", collateral.covers()));
        });
    }

    public String appraisalDescription() {
        return appraisal.describe();
    }

    private void reload() {
        CollateralSet set = Files.isDirectory(collateralDir) ? CollateralSet.load(collateralDir) : CollateralSet.empty();
        // The SNP verifier is unused for quotes; the entry point is shared with SNP evidence.
        verifier = new EvidenceVerifier(new SnpVerifier(VerifierPolicy.builder().clock(config.clock()).build()), new DcapVerifier(), set);
        collateral = set;
    }

    private synchronized void store(Collateral c) {
        String file = c.tcbInfo().id().toLowerCase(java.util.Locale.ROOT) + "-" + c.tcbInfo().fmspcHex() + ".json";
        try {
            Files.createDirectories(collateralDir);
            Path tmp = Files.createTempFile(collateralDir, ".upload-", ".tmp");
            Files.writeString(tmp, c.toBundleJson());
            Files.move(tmp, collateralDir.resolve(file), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ApiException(ErrorCode.INTERNAL_ERROR, "cannot store the collateral under " + collateralDir + ": " + e.getMessage());
        }
        reload();
    }

    /** {@code POST /attest/SgxEnclave} or {@code /attest/TdxVm} (routed by {@link AttestationService}). */
    String attest(HttpRequest req, EvidenceKind kind) {
        String what = "attest " + kind.endpoint();
        ObjectNode body = Json.parseObject(req.body(), what);
        if (body.hasNonNull("collateral")) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": collateral in the request is not accepted: it would come from the "
                    + "host being attested; the operator supplies Intel's collateral (POST /admin/collateral/intel)");
        }
        byte[] quoteBytes = AttestationService.b64url(Json.requiredText(body, "quote", what), "quote");
        DcapQuote quote;
        try {
            quote = DcapQuote.parse(quoteBytes);
        } catch (QuoteFormatException e) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": " + e.getMessage());
        }
        Evidence evidence = Evidence.dcap(quote);
        if (evidence.kind() != kind) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": the quote is " + evidence.kind() + " evidence (version "
                    + quote.header().version() + "); send it to /attest/" + evidence.kind().endpoint());
        }
        byte[] runtimeData = null;
        String dataType = null;
        JsonNode rd = body.get("runtimeData");
        if (rd != null && !rd.isNull()) {
            if (!(rd instanceof ObjectNode rdo)) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": 'runtimeData' must be {\"data\": base64url, \"dataType\": \"JSON\"|\"Binary\"}");
            }
            runtimeData = AttestationService.b64url(Json.requiredText(rdo, "data", what + " runtimeData"), "runtimeData.data");
            if (runtimeData.length > MAX_RUNTIME_DATA) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": runtimeData is " + runtimeData.length + " bytes; the limit is " + MAX_RUNTIME_DATA);
            }
            dataType = Json.optionalText(rdo, "dataType", what + " runtimeData");
            if (dataType == null) dataType = "Binary";
            if (!dataType.equals("JSON") && !dataType.equals("Binary")) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": runtimeData.dataType must be JSON or Binary, found '"
                        + AttestationService.KeyText.safe(dataType) + "'");
            }
        }
        String nonce = Json.optionalText(body, "nonce", what);
        if (nonce != null && nonce.length() > MAX_NONCE) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + ": nonce is longer than " + MAX_NONCE + " characters");
        }

        Attestation a = verifier.verify(evidence, config.clock().instant());
        if (!a.valid()) {
            boolean missing = a.failures().stream().anyMatch(c -> c.name().equals("collateral_available"));
            boolean revoked = a.failures().stream().anyMatch(c -> c.name().equals("revocation") && c.detail().contains("revoked by"));
            StringBuilder failed = new StringBuilder();
            for (CheckResult f : a.failures()) failed.append(failed.isEmpty() ? "" : "; ").append(f.name()).append(": ").append(f.detail());
            throw new ApiException(missing ? ErrorCode.COLLATERAL_UNAVAILABLE : revoked ? ErrorCode.CERTIFICATE_REVOKED : ErrorCode.EVIDENCE_INVALID,
                    what + ": evidence failed verification: " + failed);
        }
        byte[] reportData = quote.body().reportData();
        if (runtimeData != null) {
            byte[] digest = AttestationService.sha256(runtimeData);
            if (!MessageDigest.isEqual(digest, Arrays.copyOf(reportData, 32))) {
                throw new ApiException(ErrorCode.RUNTIME_DATA_MISMATCH, what + ": SHA-256 of runtimeData is " + HEX.formatHex(digest)
                        + " but REPORTDATA starts with " + HEX.formatHex(reportData, 0, 32)
                        + "; the runtime data is not what the workload bound into its quote");
            }
        }
        Map<String, Object> claims = claims(a, runtimeData, dataType, nonce);
        ObjectNode input = Json.MAPPER.createObjectNode();
        input.put("tee", kind.label());
        input.put("debuggable", a.claims().debuggable());
        input.put("allow_debug", config.allowDebug());
        input.put("tcb_status", a.claims().tcbStatus().orElse(""));
        input.set("advisory_ids", Json.MAPPER.valueToTree(a.claims().advisoryIds()));
        input.set("claims", Json.MAPPER.valueToTree(claims));
        AppraisalDecision decision = appraisal.appraise(input);
        if (!decision.accepted()) {
            throw new ApiException(ErrorCode.POLICY_DENIED, what + ": appraisal rule '" + decision.rule() + "' denied: " + decision.reason());
        }
        return issuer.issue(claims);
    }

    private Map<String, Object> claims(Attestation a, byte[] runtimeData, String dataType, String nonce) {
        Map<String, Object> f = a.claims().fields();
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("x-ms-attestation-type", a.kind().attestationType());
        c.put("x-ms-ver", "1.0");
        c.put("x-ms-policy-hash", policyHash);
        if (a.kind() == EvidenceKind.SGX) {
            c.put("x-ms-sgx-mrenclave", f.get("mrenclave"));
            c.put("x-ms-sgx-mrsigner", f.get("mrsigner"));
            c.put("x-ms-sgx-product-id", f.get("isvProdId"));
            c.put("x-ms-sgx-svn", f.get("isvSvn"));
            c.put("x-ms-sgx-is-debuggable", a.claims().debuggable());
            c.put("x-ms-sgx-report-data", a.claims().reportData());
            if (runtimeData != null) c.put("x-ms-sgx-ehd", Base64.getUrlEncoder().withoutPadding().encodeToString(runtimeData));
            c.put("x-ms-sgx-config-id", f.get("configId"));
            c.put("x-ms-sgx-config-svn", f.get("configSvn"));
            c.put("x-ms-sgx-isv-extended-product-id", f.get("isvExtProdId"));
            c.put("x-ms-sgx-isv-family-id", f.get("isvFamilyId"));
        } else {
            for (String k : List.of("mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid", "mrowner", "mrownerconfig", "mrseam",
                    "mrsignerseam", "mrservicetd")) {
                if (f.containsKey(k)) c.put("tdx_" + k, f.get(k));
            }
            c.put("tdx_seam_attributes", f.get("seamAttributes"));
            c.put("tdx_td_attributes", f.get("tdAttributes"));
            c.put("tdx_td_attributes_debug", a.claims().debuggable());
            c.put("tdx_xfam", f.get("xfam"));
            c.put("tdx_tee_tcb_svn", f.get("teeTcbSvn"));
            if (f.containsKey("teeTcbSvn2")) c.put("tdx_tee_tcb_svn2", f.get("teeTcbSvn2"));
            c.put("tdx_report_data", a.claims().reportData());
        }
        c.put("attester_tcb_status", a.claims().tcbStatus().orElseThrow());
        c.put("attester_advisory_ids", a.claims().advisoryIds());
        if (a.kind() == EvidenceKind.SGX) c.put("x-ms-sgx-tcbidentifier", String.valueOf(tcbEvaluationDataNumber(a)));
        c.put("x-coffer-tee", a.kind().label());
        AttestationService.putRuntimeClaims(c, runtimeData, dataType, nonce);
        return c;
    }

    private int tcbEvaluationDataNumber(Attestation a) {
        Object pck = a.claims().fields().get("pck");
        String fmspc = pck instanceof Map<?, ?> m ? String.valueOf(m.get("fmspc")) : "";
        return collateral.find(DcapQuote.Tee.SGX, fmspc).map(c -> c.tcbInfo().tcbEvaluationDataNumber()).orElse(0);
    }
}
