package dev.coffer.server.vault;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.PolicyDecision;
import dev.coffer.server.policy.PolicyException;
import dev.coffer.server.policy.ReleasePolicy;
import dev.coffer.server.policy.ReleasePolicyEvaluator;
import dev.coffer.server.policy.ReleasePolicyParser;
import dev.coffer.server.store.AuditEntry;
import dev.coffer.server.store.AuditLog;
import dev.coffer.server.store.DuplicateKeyException;
import dev.coffer.server.store.StoreException;
import dev.coffer.server.store.StoredKey;
import dev.coffer.server.store.VaultStore;
import dev.coffer.server.token.TokenIssuer;
import dev.coffer.server.token.TokenVerifier;
import dev.coffer.server.token.VerifiedToken;
import dev.coffer.channel.KeyWrapAlgorithm;
import dev.coffer.channel.RsaAesKeyWrap;
import dev.coffer.channel.SignedRelease;
import dev.coffer.channel.VolumeGeneration;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The key vault: key life cycle for administrators and secure key release for attested
 * callers. Keys are exportable only with a release policy; a release verifies the caller's
 * attestation token, evaluates the key's policy against its claims and returns the key
 * wrapped to the runtime RSA key the token carries. Every release decision is audited
 * before it is answered.
 */
public final class KeyVault {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9-]{1,127}");
    private static final Pattern VERSION = Pattern.compile("[0-9a-f]{32}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final VaultStore store;
    private final AuditLog auditLog;
    private final TokenVerifier verifier;
    private final TokenIssuer signer;
    private final Clock clock;
    private final String baseUrl;
    private final Map<String, ReleasePolicy> parsedPolicies = new ConcurrentHashMap<>();

    public KeyVault(VaultStore store, AuditLog auditLog, TokenVerifier verifier, TokenIssuer signer, Clock clock, String baseUrl) {
        this.store = store;
        this.auditLog = auditLog;
        this.verifier = verifier;
        this.signer = signer;
        this.clock = clock;
        this.baseUrl = baseUrl;
    }

    // ---- administration -----------------------------------------------------------------------

    /** Validates a policy document (the JSON text) with precise errors; returns it parsed. */
    public static ReleasePolicy validatePolicy(JsonNode policy) {
        try {
            return ReleasePolicyParser.parse(policy);
        } catch (PolicyException e) {
            throw new ApiException(ErrorCode.POLICY_INVALID, e.getMessage());
        }
    }

    public KeyInfo create(String name, KeySpec spec, boolean exportable, JsonNode policy, boolean immutable) {
        checkName(name);
        ReleasePolicy parsed = checkExportRules(exportable, policy, immutable);
        KeyMaterial material = KeyMaterial.generate(spec);
        return insert(name, 1, material, exportable, parsed, immutable);
    }

    public KeyInfo importKey(String name, JsonNode jwkJson, boolean exportable, JsonNode policy, boolean immutable) {
        checkName(name);
        ReleasePolicy parsed = checkExportRules(exportable, policy, immutable);
        if (!(jwkJson instanceof ObjectNode)) throw new ApiException(ErrorCode.KEY_INVALID, "'key' must be a JWK object");
        JWK jwk;
        try {
            jwk = JWK.parse(Json.string(jwkJson));
        } catch (ParseException e) {
            throw new ApiException(ErrorCode.KEY_INVALID, "'key' is not a valid JWK: " + e.getMessage());
        }
        return insert(name, 1, KeyMaterial.fromJwk(jwk), exportable, parsed, immutable);
    }

    /** A new version with fresh material of the same type; policy and exportability carry over. */
    public KeyInfo rotate(String name) {
        checkName(name);
        for (int attempt = 0; attempt < 5; attempt++) {
            StoredKey current = latestOrThrow(name);
            KeySpec spec = KeySpec.parse(current.spec());
            ReleasePolicy policy = current.releasePolicy() == null ? null : parsePolicyText(current.releasePolicy());
            try {
                return insertOrDuplicate(name, current.seq() + 1, KeyMaterial.generate(spec), current.exportable(),
                        policy, current.policyImmutable());
            } catch (DuplicateKeyException raced) {
                // Another rotation won the sequence number; rotate on top of it.
            }
        }
        throw new ApiException(ErrorCode.KEY_EXISTS, "key " + name + " is being rotated concurrently; retry");
    }

    public List<KeyInfo> list() {
        List<KeyInfo> out = new ArrayList<>();
        for (StoredKey k : store.listLatest()) out.add(info(k));
        return out;
    }

    public KeyInfo get(String name, String version) {
        return info(find(name, version));
    }

    public List<KeyInfo> versions(String name) {
        checkName(name);
        List<KeyInfo> out = new ArrayList<>();
        for (StoredKey k : store.versions(name)) out.add(info(k));
        if (out.isEmpty()) throw notFound(name, null);
        return out;
    }

    public int delete(String name) {
        checkName(name);
        int n = store.deleteKey(name);
        if (n == 0) throw notFound(name, null);
        return n;
    }

    /** Replaces the release policy of a version (the latest when {@code version} is null). */
    public KeyInfo setPolicy(String name, String version, JsonNode policy, boolean immutable) {
        StoredKey key = find(name, version);
        if (key.policyImmutable()) {
            throw new ApiException(ErrorCode.POLICY_IMMUTABLE, "the release policy of " + name + "/" + key.version()
                    + " is immutable; rotate the key to a new version with a new policy instead");
        }
        if (policy == null || policy.isNull()) {
            throw new ApiException(ErrorCode.POLICY_INVALID, "a release policy is required");
        }
        ReleasePolicy parsed = validatePolicy(policy);
        if (!store.updatePolicy(name, key.version(), Json.string(parsed.json()), immutable)) {
            throw new ApiException(ErrorCode.POLICY_IMMUTABLE, "the release policy of " + name + "/" + key.version()
                    + " became immutable meanwhile");
        }
        return get(name, key.version());
    }

    public List<AuditEntry> audit(String keyName, int limit) {
        if (keyName != null) checkName(keyName);
        return store.audit(keyName, Math.max(1, Math.min(limit, 10_000)));
    }

    // ---- release ------------------------------------------------------------------------------

    /**
     * Releases a key version (the latest when {@code version} is null) to the holder of an
     * attestation token. {@code enc} defaults to {@code CKM_RSA_AES_KEY_WRAP}.
     */
    public ReleaseResult release(String name, String version, String token, String enc) {
        VerifiedToken verified = null;
        String resolvedVersion = version;
        try {
            if (name == null || !NAME.matcher(name).matches()) {
                throw new ApiException(ErrorCode.KEY_NOT_FOUND, "no key named '" + safe(name) + "'");
            }
            KeyWrapAlgorithm alg = enc == null ? KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP : KeyWrapAlgorithm.fromName(enc);
            if (alg == null) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "unsupported enc '" + safe(enc)
                        + "'; expected CKM_RSA_AES_KEY_WRAP or RSA_AES_KEY_WRAP_256");
            }
            if (token == null || token.isBlank()) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "missing 'target' (the attestation token)");
            }
            StoredKey key = find(name, version);
            resolvedVersion = key.version();
            ReleasePolicy policy = releasePolicyOf(key);
            verified = verifyToken(policy, token);
            PolicyDecision decision = decide(key, policy, verified);
            RSAPublicKey runtimeKey = runtimeKey(verified.claims());
            byte[] material = store.material(key);
            byte[] wrapped;
            try {
                wrapped = RsaAesKeyWrap.wrap(runtimeKey, material, alg);
            } catch (GeneralSecurityException e) {
                throw new ApiException(ErrorCode.TOKEN_RUNTIME_KEY_INVALID, "cannot wrap to the token's runtime key: " + e.getMessage());
            } finally {
                Arrays.fill(material, (byte) 0);
            }
            String jws = signer.sign(releasePayload(key, alg, wrapped, policy), JOSEObjectType.JOSE);
            auditLog.append(audit(name, key.version(), verified, "released", null, decision.reason()));
            return new ReleaseResult(jws, name, key.version());
        } catch (ApiException e) {
            auditLog.append(audit(name == null ? "" : safe(name), resolvedVersion != null && VERSION.matcher(resolvedVersion).matches()
                    ? resolvedVersion : null, verified, "denied", e.code().code(), e.getMessage()));
            throw e;
        }
    }

    private ReleasePolicy releasePolicyOf(StoredKey key) {
        if (!key.exportable() || key.releasePolicy() == null) {
            throw new ApiException(ErrorCode.KEY_NOT_EXPORTABLE, "key " + key.name() + "/" + key.version()
                    + " is not exportable (it has no release policy)");
        }
        return parsePolicyText(key.releasePolicy());
    }

    private VerifiedToken verifyToken(ReleasePolicy policy, String token) {
        var authorities = policy.authorityNames();
        return verifier.verify(token, authorities::contains, String.join(", ", authorities));
    }

    private static PolicyDecision decide(StoredKey key, ReleasePolicy policy, VerifiedToken verified) {
        PolicyDecision decision = ReleasePolicyEvaluator.evaluate(policy, verified.issuer(), verified.claims());
        if (!decision.allowed()) {
            throw new ApiException(ErrorCode.RELEASE_DENIED, "release policy of " + key.name() + "/" + key.version()
                    + " denies this token: " + decision.reason());
        }
        return decision;
    }

    // ---- volume generations -------------------------------------------------------------------

    /** Key {@code name}'s volume generation (0 before the first advance); for administrators. */
    public long generation(String name) {
        latestOrThrow(name);
        return store.generation(name);
    }

    /**
     * Advances key {@code name}'s volume generation from {@code expected} to {@code next}
     * (compare-and-set), under exactly the authorisation a release of that key (version
     * {@code version}, the latest when null) needs: an attestation token its release policy
     * accepts. Returns the vault's signed answer ({@link VolumeGeneration#CLAIM} naming the
     * token by its digest), which the agent verifies against the pinned release-signing key.
     * Audited like a release.
     */
    public String advanceGeneration(String name, String version, String token, long expected, long next) {
        VerifiedToken verified = null;
        String resolvedVersion = version;
        try {
            if (name == null || !NAME.matcher(name).matches()) {
                throw new ApiException(ErrorCode.KEY_NOT_FOUND, "no key named '" + safe(name) + "'");
            }
            if (token == null || token.isBlank()) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "missing 'target' (the attestation token)");
            }
            if (expected < 0 || next <= expected) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "a generation only moves forward: expected 'next' > 'expected' >= 0,"
                        + " found expected " + expected + " and next " + next);
            }
            StoredKey key = find(name, version);
            resolvedVersion = key.version();
            ReleasePolicy policy = releasePolicyOf(key);
            verified = verifyToken(policy, token);
            PolicyDecision decision = decide(key, policy, verified);
            if (!store.advanceGeneration(name, expected, next)) {
                long current = store.generation(name);
                throw new ApiException(ErrorCode.GENERATION_CONFLICT, "the volume generation of key " + name + " is " + current
                        + ", not the expected " + expected + ": another session opened or closed this volume meanwhile, or the image"
                        + " is not the newest; nothing was changed");
            }
            String jws = signer.sign(Map.of(VolumeGeneration.CLAIM, VolumeGeneration.advanced(name, expected, next, token).toJson()),
                    JOSEObjectType.JOSE);
            auditLog.append(audit(name, key.version(), verified, "advanced", null, "volume generation " + expected + " -> " + next
                    + "; " + decision.reason()));
            return jws;
        } catch (ApiException e) {
            auditLog.append(audit(name == null ? "" : safe(name), resolvedVersion != null && VERSION.matcher(resolvedVersion).matches()
                    ? resolvedVersion : null, verified, "denied", e.code().code(), e.getMessage()));
            throw e;
        }
    }

    /** Records a release request refused before the vault could look at it (e.g. a malformed body). */
    public void auditRefusal(String name, String version, ApiException e) {
        auditLog.append(audit(name == null ? "" : safe(name), version != null && VERSION.matcher(version).matches() ? version : null,
                null, "denied", e.code().code(), e.getMessage()));
    }

    private Map<String, Object> releasePayload(StoredKey key, KeyWrapAlgorithm alg, byte[] wrapped, ReleasePolicy policy) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String kid = kid(key.name(), key.version());
        KeySpec spec = KeySpec.parse(key.spec());
        Map<String, Object> jwk = new LinkedHashMap<>();
        jwk.put("kid", kid);
        jwk.put("kty", KeyMaterial.hsmKty(spec));
        jwk.put("key_ops", spec.kty().equals("oct") ? List.of("encrypt", "decrypt", "wrapKey", "unwrapKey")
                : spec.kty().equals("RSA") ? List.of("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
                : List.of("sign", "verify"));
        if (key.publicJwk() != null) {
            try {
                Json.parse(key.publicJwk()).properties().forEach(e -> {
                    if (!e.getKey().equals("kty")) jwk.put(e.getKey(), e.getValue());
                });
            } catch (java.io.IOException e) {
                throw new StoreException("stored public key of " + kid + " is not JSON", e);
            }
        }
        jwk.put("key_hsm", SignedRelease.keyHsm(kid, alg, wrapped));
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("enabled", true);
        attributes.put("exportable", true);
        attributes.put("created", key.created().getEpochSecond());
        Map<String, Object> releasePolicy = new LinkedHashMap<>();
        releasePolicy.put("contentType", "application/json; charset=utf-8");
        releasePolicy.put("data", b64.encodeToString(Json.bytes(policy.json())));
        releasePolicy.put("immutable", key.policyImmutable());
        Map<String, Object> keyBundle = new LinkedHashMap<>();
        keyBundle.put("key", jwk);
        keyBundle.put("attributes", attributes);
        keyBundle.put("release_policy", releasePolicy);
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("request", Map.of("api-version", "7.4", "enc", alg.name(), "kid", kid));
        payload.put("response", Map.of("key", keyBundle));
        // the volume generation rides in the signed release: as fresh as the key wrapped to this request's runtime key
        payload.put(VolumeGeneration.CLAIM, VolumeGeneration.current(key.name(), store.generation(key.name())).toJson());
        return payload;
    }

    /** The RSA key from the token's {@code x-ms-runtime.keys} JWK set, read as the releasing side wrote it (channel). */
    static RSAPublicKey runtimeKey(ObjectNode claims) {
        try {
            return dev.coffer.channel.RuntimeKey.fromClaims(claims);
        } catch (dev.coffer.channel.ChannelFormatException e) {
            throw new ApiException(ErrorCode.TOKEN_RUNTIME_KEY_INVALID, e.getMessage());
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private ReleasePolicy checkExportRules(boolean exportable, JsonNode policy, boolean immutable) {
        boolean hasPolicy = policy != null && !policy.isNull();
        if (exportable && !hasPolicy) {
            throw new ApiException(ErrorCode.POLICY_INVALID, "an exportable key needs a release policy; add release_policy");
        }
        if (!exportable && hasPolicy) {
            throw new ApiException(ErrorCode.POLICY_INVALID, "a release policy is only meaningful on an exportable key; set exportable");
        }
        if (immutable && !hasPolicy) {
            throw new ApiException(ErrorCode.POLICY_INVALID, "'immutable' needs a release policy to make immutable");
        }
        return hasPolicy ? validatePolicy(policy) : null;
    }

    private KeyInfo insert(String name, int seq, KeyMaterial material, boolean exportable, ReleasePolicy policy, boolean immutable) {
        try {
            return insertOrDuplicate(name, seq, material, exportable, policy, immutable);
        } catch (DuplicateKeyException e) {
            throw new ApiException(ErrorCode.KEY_EXISTS, "key " + name + " already exists; rotate it for a new version or delete it first");
        }
    }

    private KeyInfo insertOrDuplicate(String name, int seq, KeyMaterial material, boolean exportable, ReleasePolicy policy,
                                      boolean immutable) throws DuplicateKeyException {
        byte[] v = new byte[16];
        RANDOM.nextBytes(v);
        String version = HexFormat.of().formatHex(v);
        try {
            StoredKey k = store.insertKey(name, version, seq, material.spec().toString(), clock.instant(), exportable,
                    policy == null ? null : Json.string(policy.json()), immutable, material.publicJwkJson(), material.secret());
            return info(k);
        } finally {
            Arrays.fill(material.secret(), (byte) 0);
        }
    }

    private StoredKey find(String name, String version) {
        checkName(name);
        if (version == null || version.isEmpty()) return latestOrThrow(name);
        if (!VERSION.matcher(version).matches()) throw notFound(name, version);
        return store.version(name, version).orElseThrow(() -> notFound(name, version));
    }

    private StoredKey latestOrThrow(String name) {
        return store.latest(name).orElseThrow(() -> notFound(name, null));
    }

    private ReleasePolicy parsePolicyText(String text) {
        ReleasePolicy p = parsedPolicies.get(text);
        if (p != null) return p;
        try {
            p = ReleasePolicyParser.parse(text);
        } catch (PolicyException e) {
            throw new StoreException("a stored release policy no longer parses: " + e.getMessage(), null);
        }
        if (parsedPolicies.size() > 10_000) parsedPolicies.clear();
        parsedPolicies.put(text, p);
        return p;
    }

    private KeyInfo info(StoredKey k) {
        try {
            JsonNode policy = k.releasePolicy() == null ? null : Json.parse(k.releasePolicy());
            ObjectNode pub = null;
            if (k.publicJwk() != null) {
                pub = (ObjectNode) Json.parse(k.publicJwk());
                pub.put("kid", kid(k.name(), k.version()));
            }
            return new KeyInfo(k.name(), k.version(), k.seq(), kid(k.name(), k.version()), k.spec(), k.created(),
                    k.exportable(), policy, k.policyImmutable(), pub);
        } catch (java.io.IOException e) {
            throw new StoreException("stored key " + k.name() + " has unreadable JSON", e);
        }
    }

    private String kid(String name, String version) {
        return baseUrl + "/keys/" + name + "/" + version;
    }

    private static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ApiException(ErrorCode.MALFORMED_REQUEST, "key name '" + safe(name)
                    + "' is invalid; use 1-127 letters, digits and dashes");
        }
    }

    private static ApiException notFound(String name, String version) {
        return new ApiException(ErrorCode.KEY_NOT_FOUND, "no key " + safe(name) + (version == null ? "" : " version " + safe(version))
                + "; list keys with 'coffer key list'");
    }

    private AuditEntry audit(String name, String version, VerifiedToken token, String verdict, String code, String reason) {
        return new AuditEntry(0, clock.instant(), name, version, token == null ? null : token.jti(),
                token == null ? null : token.issuer(), token == null ? null : token.rawPayloadDigest(), verdict, code, reason);
    }

    /** Caller-supplied text echoed in messages: bounded and printable. */
    static String safe(String s) {
        if (s == null) return "";
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        StringBuilder b = new StringBuilder();
        for (char c : t.toCharArray()) b.append(c < 0x20 || c == 0x7f ? '?' : c);
        return b.toString();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
