package dev.coffer.server.vault;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the admin API shows about a key version: never the private material. */
public record KeyInfo(String name, String version, int versionNumber, String kid, String spec, Instant created,
                      boolean exportable, JsonNode releasePolicy, boolean policyImmutable, JsonNode publicJwk) {
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("version", version);
        m.put("version_number", versionNumber);
        m.put("kid", kid);
        m.put("type", spec);
        m.put("created", created.toString());
        m.put("exportable", exportable);
        if (releasePolicy != null) m.put("release_policy", releasePolicy);
        m.put("policy_immutable", policyImmutable);
        if (publicJwk != null) m.put("public_jwk", publicJwk);
        return m;
    }
}
