package dev.coffer.server.client;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds the body of {@code POST /attest/SevSnpVm} in MAA's shape (what Azure's SKR sidecar sends). */
public final class MaaRequest {
    private MaaRequest() {}

    /**
     * @param report      the 1184-byte SNP report
     * @param chainPem    VCEK (+ ASK, ARK) PEM bundle
     * @param runtimeJson runtime data, e.g. {@code {"keys":[<RSA JWK>]}}, exactly the bytes whose SHA-256 is in REPORT_DATA; may be null
     * @param nonce       caller nonce, may be null
     */
    public static Map<String, Object> body(byte[] report, String chainPem, byte[] runtimeJson, String nonce) {
        return body(report, chainPem, List.of(), runtimeJson, nonce);
    }

    /**
     * As {@link #body(byte[], String, byte[], String)}, with guest endorsements (COSE_Sign1
     * documents) in {@code report.Endorsements} = base64url({@code {"Uvm": [base64url(cose), ...]}}),
     * the field Azure's SKR sidecar sends its UVM reference info in. An empty list sends no field.
     */
    public static Map<String, Object> body(byte[] report, String chainPem, List<byte[]> endorsements, byte[] runtimeJson, String nonce) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String inner = "{\"SnpReport\":\"" + b64.encodeToString(report) + "\",\"VcekCertChain\":\""
                + b64.encodeToString(chainPem.getBytes(StandardCharsets.UTF_8)) + "\""
                + (endorsements.isEmpty() ? "" : ",\"Endorsements\":\"" + b64.encodeToString(endorsementsJson(endorsements)) + "\"")
                + "}";
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("report", b64.encodeToString(inner.getBytes(StandardCharsets.UTF_8)));
        if (runtimeJson != null) body.put("runtimeData", Map.of("data", b64.encodeToString(runtimeJson), "dataType", "JSON"));
        if (nonce != null) body.put("nonce", nonce);
        return body;
    }

    /** {@code {"Uvm": [base64url(cose), ...]}}, the JSON inside {@code report.Endorsements}. */
    public static byte[] endorsementsJson(List<byte[]> endorsements) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        StringBuilder sb = new StringBuilder("{\"Uvm\":[");
        for (int i = 0; i < endorsements.size(); i++) sb.append(i == 0 ? "" : ",").append('"').append(b64.encodeToString(endorsements.get(i))).append('"');
        return sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }
}
