package dev.coffer.server.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.server.http.Json;

import java.util.List;
import java.util.Map;

/** Ready-made release policies for the common case, as JSON to hand to the vault. */
public final class ReleasePolicies {
    private ReleasePolicies() {}

    /**
     * Release only to SEV-SNP guests attested by {@code authority} whose HOST_DATA (SHA-256 of
     * their confidential container policy) is {@code hostDataHex}.
     */
    public static ObjectNode requireHostData(String authority, String hostDataHex) {
        return Json.MAPPER.valueToTree(Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", authority, "allOf", List.of(
                Map.of("claim", "x-ms-attestation-type", "equals", "sevsnpvm"),
                Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", hostDataHex.toLowerCase()))))));
    }
}
