package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.HttpRequest;
import dev.coffer.server.http.HttpResponse;
import dev.coffer.server.http.Json;
import dev.coffer.server.http.Router;
import dev.coffer.server.policy.ReleasePolicyLint;
import dev.coffer.server.store.AuditEntry;
import dev.coffer.server.vault.AdminTokens;
import dev.coffer.server.vault.KeyInfo;
import dev.coffer.server.vault.KeySpec;
import dev.coffer.server.vault.KeyVault;
import dev.coffer.server.vault.ReleaseResult;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The key vault's HTTP API. Administration ({@code /keys...} except release, {@code /audit})
 * needs an admin bearer token; release needs only an attestation token in the body, as with
 * Azure Key Vault's {@code POST /keys/{name}/{version}/release}.
 */
final class VaultApi {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(VaultApi.class.getName());
    private final KeyVault vault;
    private final AdminTokens admins;

    VaultApi(KeyVault vault, AdminTokens admins) {
        this.vault = vault;
        this.admins = admins;
    }

    void register(Router r) {
        // before /keys/{name}/{version}, which would otherwise take GET .../generation for a version
        r.add("POST", "/keys/{name}/generation", req -> advanceGeneration(req, null));
        r.add("POST", "/keys/{name}/{version}/generation", req -> advanceGeneration(req, req.pathParam("version")));
        r.add("GET", "/keys/{name}/generation", admin(req -> HttpResponse.ok(Map.of("key", req.pathParam("name"),
                "generation", vault.generation(req.pathParam("name"))))));
        r.add("GET", "/keys", admin(req -> HttpResponse.ok(Map.of("keys", vault.list().stream().map(KeyInfo::toJson).toList()))));
        r.add("POST", "/keys/{name}/create", admin(this::create));
        r.add("PUT", "/keys/{name}", admin(this::importKey));
        r.add("GET", "/keys/{name}", admin(req -> {
            List<KeyInfo> versions = vault.versions(req.pathParam("name"));
            Map<String, Object> m = new LinkedHashMap<>(versions.getLast().toJson());
            m.put("versions", versions.stream().map(v -> Map.of("version", v.version(), "version_number", v.versionNumber(),
                    "created", v.created().toString())).toList());
            return HttpResponse.ok(m);
        }));
        r.add("GET", "/keys/{name}/{version}", admin(req -> HttpResponse.ok(vault.get(req.pathParam("name"), req.pathParam("version")).toJson())));
        r.add("POST", "/keys/{name}/rotate", admin(req -> HttpResponse.ok(vault.rotate(req.pathParam("name")).toJson())));
        r.add("DELETE", "/keys/{name}", admin(req -> HttpResponse.ok(Map.of("deleted", req.pathParam("name"),
                "versions", vault.delete(req.pathParam("name"))))));
        r.add("PUT", "/keys/{name}/policy", admin(this::setPolicy));
        r.add("POST", "/keys/{name}/release", req -> release(req, null));
        r.add("POST", "/keys/{name}/{version}/release", req -> release(req, req.pathParam("version")));
        r.add("GET", "/audit", admin(this::audit));
    }

    private dev.coffer.server.http.Route admin(dev.coffer.server.http.Route inner) {
        return req -> {
            admins.require(req.header("Authorization"));
            return inner.handle(req);
        };
    }

    private HttpResponse create(HttpRequest req) {
        ObjectNode body = Json.parseObject(req.body(), "create key");
        Integer size = null;
        JsonNode sizeNode = body.has("key_size") ? body.get("key_size") : body.get("size");
        if (sizeNode != null && !sizeNode.isNull()) {
            if (!sizeNode.isInt()) throw new ApiException(ErrorCode.MALFORMED_REQUEST, "create key: 'key_size' must be an integer");
            size = sizeNode.intValue();
        }
        KeySpec spec = KeySpec.of(Json.requiredText(body, "kty", "create key"), size, Json.optionalText(body, "crv", "create key"));
        PolicyInput policy = policyInput(body);
        KeyInfo info = vault.create(req.pathParam("name"), spec, exportable(body), policy.policy, policy.immutable);
        return HttpResponse.json(201, withWarnings(info, policy.policy));
    }

    private HttpResponse importKey(HttpRequest req) {
        ObjectNode body = Json.parseObject(req.body(), "import key");
        JsonNode key = body.get("key");
        if (key == null) throw new ApiException(ErrorCode.MALFORMED_REQUEST, "import key: missing 'key' (a private JWK)");
        PolicyInput policy = policyInput(body);
        KeyInfo info = vault.importKey(req.pathParam("name"), key, exportable(body), policy.policy, policy.immutable);
        return HttpResponse.json(201, withWarnings(info, policy.policy));
    }

    private HttpResponse setPolicy(HttpRequest req) {
        ObjectNode body = Json.parseObject(req.body(), "set policy");
        PolicyInput policy = policyInput(body);
        if (policy.policy == null) throw new ApiException(ErrorCode.MALFORMED_REQUEST, "set policy: missing 'release_policy'");
        return HttpResponse.ok(withWarnings(vault.setPolicy(req.pathParam("name"), Json.optionalText(body, "version", "set policy"),
                policy.policy, policy.immutable), policy.policy));
    }

    /** The key's JSON, plus {@code warnings} (also logged) when its release policy is valid but unsafe. */
    private static Map<String, Object> withWarnings(KeyInfo info, JsonNode policy) {
        Map<String, Object> m = new LinkedHashMap<>(info.toJson());
        if (policy == null || policy.isNull()) return m;
        List<String> warnings = ReleasePolicyLint.warnings(KeyVault.validatePolicy(policy));
        if (!warnings.isEmpty()) {
            m.put("warnings", warnings);
            for (String w : warnings) LOG.warning("key " + info.name() + "/" + info.version() + ": " + w);
        }
        return m;
    }

    private HttpResponse release(HttpRequest req, String version) {
        ObjectNode body;
        try {
            body = Json.parseObject(req.body(), "release");
        } catch (ApiException e) {
            // Still a release decision: it goes to the audit log like every other one.
            return HttpResponse.error(e.code(), auditedFailure(req, version, e));
        }
        JsonNode target = body.get("target");
        JsonNode enc = body.get("enc");
        String tokenText = target != null && target.isTextual() ? target.textValue() : null;
        if (target != null && !target.isTextual()) {
            return HttpResponse.error(ErrorCode.MALFORMED_REQUEST, auditedFailure(req, version,
                    new ApiException(ErrorCode.MALFORMED_REQUEST, "release: 'target' must be the attestation token string")));
        }
        ReleaseResult result = vault.release(req.pathParam("name"), version, tokenText,
                enc != null && enc.isTextual() ? enc.textValue() : enc == null || enc.isNull() ? null : enc.toString());
        return HttpResponse.ok(Map.of("value", result.value()));
    }

    /**
     * {@code {"target": TOKEN, "expected": N, "next": M}}: compare-and-set of the key's volume
     * generation under the same attested authorisation as a release; answers {@code {"value": JWS}}.
     */
    private HttpResponse advanceGeneration(HttpRequest req, String version) {
        ObjectNode body;
        try {
            body = Json.parseObject(req.body(), "advance generation");
            for (String f : List.of("expected", "next")) {
                JsonNode n = body.get(f);
                if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
                    throw new ApiException(ErrorCode.MALFORMED_REQUEST, "advance generation: '" + f + "' must be an integer, found "
                            + (n == null ? "none" : shown(n.toString())));
                }
            }
            if (body.has("target") && !body.get("target").isTextual()) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "advance generation: 'target' must be the attestation token string");
            }
        } catch (ApiException e) {
            return HttpResponse.error(e.code(), auditedFailure(req, version, e));
        }
        String jws = vault.advanceGeneration(req.pathParam("name"), version, body.path("target").asText(null),
                body.get("expected").longValue(), body.get("next").longValue());
        return HttpResponse.ok(Map.of("value", jws));
    }

    private static String shown(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private String auditedFailure(HttpRequest req, String version, ApiException e) {
        vault.auditRefusal(req.pathParam("name"), version, e);
        return e.getMessage();
    }

    private HttpResponse audit(HttpRequest req) {
        int limit = 100;
        String l = req.queryParam("limit");
        if (l != null) {
            try {
                limit = Integer.parseInt(l);
            } catch (NumberFormatException e) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "audit: 'limit' must be a number, found '" + l + "'");
            }
        }
        List<Map<String, Object>> entries = new ArrayList<>();
        for (AuditEntry e : vault.audit(req.queryParam("key"), limit)) entries.add(auditJson(e));
        return HttpResponse.ok(Map.of("entries", entries));
    }

    static Map<String, Object> auditJson(AuditEntry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.id());
        m.put("time", e.at().toString());
        m.put("key", e.keyName());
        m.put("version", e.keyVersion());
        m.put("jti", e.jti());
        m.put("issuer", e.issuer());
        m.put("claims_digest", e.claimsDigest());
        m.put("verdict", e.verdict());
        m.put("code", e.code());
        m.put("reason", e.reason());
        return m;
    }

    private static boolean exportable(ObjectNode body) {
        JsonNode e = body.has("exportable") ? body.get("exportable") : body.path("attributes").get("exportable");
        if (e == null || e.isNull()) return false;
        if (!e.isBoolean()) throw new ApiException(ErrorCode.MALFORMED_REQUEST, "'exportable' must be true or false");
        return e.booleanValue();
    }

    private record PolicyInput(JsonNode policy, boolean immutable) {}

    /**
     * The release policy as Azure sends it ({@code {"data": base64url(policy), "immutable": bool}})
     * or, for convenience, the policy object itself with a top-level {@code immutable}.
     */
    private static PolicyInput policyInput(ObjectNode body) {
        JsonNode rp = body.get("release_policy");
        JsonNode immutableNode = body.get("immutable");
        if (rp == null || rp.isNull()) return new PolicyInput(null, immutableNode != null && immutableNode.asBoolean(false));
        if (!rp.isObject()) throw new ApiException(ErrorCode.POLICY_INVALID, "'release_policy' must be a JSON object");
        JsonNode policy = rp;
        if (rp.has("data")) {
            if (!rp.get("data").isTextual()) throw new ApiException(ErrorCode.POLICY_INVALID, "release_policy.data must be base64url text");
            try {
                String data = rp.get("data").textValue();
                byte[] raw = Base64.getUrlDecoder().decode(data.replace('+', '-').replace('/', '_').replace("=", ""));
                policy = Json.parse(new String(raw, java.nio.charset.StandardCharsets.UTF_8));
            } catch (IllegalArgumentException | IOException e) {
                throw new ApiException(ErrorCode.POLICY_INVALID, "release_policy.data is not base64url-encoded JSON: " + e.getMessage());
            }
            if (rp.has("immutable")) immutableNode = rp.get("immutable");
        }
        if (immutableNode != null && !immutableNode.isBoolean()) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "'immutable' must be true or false");
        }
        return new PolicyInput(policy, immutableNode != null && immutableNode.booleanValue());
    }
}
