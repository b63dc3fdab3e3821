package dev.coffer.agent.skr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What the SKR API does, without HTTP: raw reports, attestation tokens and secure key release
 * for the group's containers, in the flow of Azure's SKR sidecar.
 *
 * <p>Release: a fresh RSA-2048 runtime key per call; its public part as a JWK set
 * {@code {"keys":[{kty,kid:"TpmEphemeralEncryptionKey",key_ops,n,e}]}} is the runtime data, so
 * REPORT_DATA = SHA-256(those exact bytes) || 32 zero bytes (what the attestation service
 * checks); the token goes to {@code <akv>/keys/<kid>/release}; the signed answer is verified
 * against the vault's JWK set, and the key is unwrapped with the runtime key, which is then
 * dropped. Nothing here logs keys or tokens.
 */
public final class SecureKeyRelease {
    /** The kid the vault prefers when it picks the runtime key from {@code x-ms-runtime.keys}. */
    static final String RUNTIME_KID = "TpmEphemeralEncryptionKey";
    private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9-]{1,127}(/[A-Za-z0-9-]{1,64})?");
    private static final Duration JWKS_TTL = Duration.ofMinutes(5);
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    private final EvidenceSource tee;
    private final Upstream upstream;
    private final String enc;
    private final Clock clock;
    private final Map<String, CachedJwks> jwksCache = new LinkedHashMap<>();
    /** Origins ({@code scheme://host:port}) the caller may name; empty allows any. */
    private final List<String> allowedEndpoints;
    /** The guest's endorsement (COSE_Sign1, opaque here), sent with every attestation request; null for none. */
    private volatile byte[] guestEndorsement;

    private record CachedJwks(JsonNode jwks, long fetchedMillis) {}

    /** Releases with {@code CKM_RSA_AES_KEY_WRAP} (the sidecar's choice) and 30 s upstream timeouts. */
    public SecureKeyRelease(EvidenceSource tee) {
        this(tee, "CKM_RSA_AES_KEY_WRAP", Duration.ofSeconds(30));
    }

    /** @param enc {@code CKM_RSA_AES_KEY_WRAP} or {@code RSA_AES_KEY_WRAP_256}, asked of the vault */
    public SecureKeyRelease(EvidenceSource tee, String enc, Duration timeout) {
        this(tee, enc, timeout, List.of());
    }

    /**
     * @param allowedEndpoints the only attestation services and key vaults a caller may name, as
     *                         origins {@code scheme://host:port}; empty allows any. A container
     *                         otherwise could make the agent fetch whatever URL it likes.
     */
    public SecureKeyRelease(EvidenceSource tee, String enc, Duration timeout, List<String> allowedEndpoints) {
        if (!enc.equals("CKM_RSA_AES_KEY_WRAP") && !enc.equals("RSA_AES_KEY_WRAP_256")) {
            throw new IllegalArgumentException("key wrapping must be CKM_RSA_AES_KEY_WRAP or RSA_AES_KEY_WRAP_256, found '" + enc + "'");
        }
        this.tee = tee;
        this.guestEndorsement = tee == null ? null : tee.guestEndorsement();
        this.enc = enc;
        this.upstream = new Upstream(timeout);
        this.clock = Clock.systemUTC();
        this.allowedEndpoints = allowedEndpoints.stream().map(e -> Upstream.origin(Upstream.baseUrl(e, "allowed endpoint"))).toList();
    }

    /**
     * {@code endpoint} (a URL or bare host) as the origin {@code scheme://host:port} the allow-list
     * compares.
     *
     * @throws IllegalArgumentException when it is not an http(s) URL
     */
    public static String endpointOrigin(String endpoint) {
        try {
            return Upstream.origin(Upstream.baseUrl(endpoint, "endpoint"));
        } catch (SkrException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    /** {@code endpoint} as a base URL, refused unless it is one of the allowed endpoints. */
    private String endpoint(String endpoint, String field) {
        String base = Upstream.baseUrl(endpoint, field);
        if (!allowedEndpoints.isEmpty() && !allowedEndpoints.contains(Upstream.origin(base))) {
            throw new SkrException(403, "endpoint_not_allowed", "'" + field + "' " + Upstream.origin(base)
                    + " is not an endpoint this group may call; expected one of " + String.join(", ", allowedEndpoints)
                    + " (the spec's skr.endpoints)");
        }
        return base;
    }

    public String tee() {
        return tee.tee();
    }

    /**
     * Sends {@code cose} (the guest's endorsement, as the host supplied it) with every attestation
     * request, in the field Azure's SKR sidecar sends its UVM reference info in:
     * {@code report.Endorsements} = base64url of {@code {"Uvm": [base64url(cose)]}}. Null sends none.
     */
    public SecureKeyRelease withGuestEndorsement(byte[] cose) {
        this.guestEndorsement = cose == null ? null : cose.clone();
        return this;
    }

    /** The inner {@code report} JSON of an attestation request, in MAA's SevSnpVm shape. */
    String maaReport(Evidence ev) {
        StringBuilder inner = new StringBuilder("{\"SnpReport\":\"").append(B64URL.encodeToString(ev.report()))
                .append("\",\"VcekCertChain\":\"").append(B64URL.encodeToString(ev.certChainPem().getBytes(StandardCharsets.UTF_8)))
                .append('"');
        byte[] endorsement = guestEndorsement;
        if (endorsement != null) {
            String uvm = "{\"Uvm\":[\"" + B64URL.encodeToString(endorsement) + "\"]}";
            inner.append(",\"Endorsements\":\"").append(B64URL.encodeToString(uvm.getBytes(StandardCharsets.UTF_8))).append('"');
        }
        return inner.append('}').toString();
    }

    /** REPORT_DATA for runtime data: its SHA-256 then 32 zero bytes, as MAA and our attestation service check. */
    public static byte[] reportData(byte[] runtimeData) {
        return Arrays.copyOf(sha256(runtimeData), 64);
    }

    /** A raw report whose REPORT_DATA binds {@code runtimeData}. */
    public Evidence rawEvidence(byte[] runtimeData) {
        try {
            return tee.evidence(reportData(runtimeData));
        } catch (RuntimeException e) {
            throw new SkrException(500, "evidence_unavailable", "the " + tee.tee() + " TEE produced no report: " + e.getMessage(), e);
        }
    }

    /**
     * An attestation token from {@code maaEndpoint} for evidence binding {@code runtimeData}.
     * Runtime data that is a JSON object is sent as {@code dataType: JSON} (it becomes the
     * token's {@code x-ms-runtime} claim), anything else as {@code Binary}.
     */
    public String maaToken(String maaEndpoint, byte[] runtimeData) {
        String base = endpoint(maaEndpoint, "maa_endpoint");
        Evidence ev = rawEvidence(runtimeData);
        String inner = maaReport(ev);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("report", B64URL.encodeToString(inner.getBytes(StandardCharsets.UTF_8)));
        body.put("runtimeData", Map.of("data", B64URL.encodeToString(runtimeData), "dataType", isJsonObject(runtimeData) ? "JSON" : "Binary"));
        JsonNode answer = upstream.post(base + "/attest/SevSnpVm", body, "attestation");
        String token = answer.path("token").asText("");
        if (token.isEmpty()) {
            throw new SkrException(502, "upstream_bad_response", "attestation: " + base + " answered without a 'token'");
        }
        return token;
    }

    /**
     * Releases key {@code kid} ({@code name} or {@code name/version}) from the vault at
     * {@code akvEndpoint} with a token from {@code maaEndpoint}; returns the key as a private
     * JWK ({@code oct}: {@code k}; {@code RSA}: n, e, d, p, q, dp, dq, qi; {@code EC}: crv, x, y, d).
     */
    public ObjectNode releaseKey(String maaEndpoint, String akvEndpoint, String kid) {
        String vault = endpoint(akvEndpoint, "akv_endpoint");
        endpoint(maaEndpoint, "maa_endpoint");
        if (kid == null || !KEY_ID.matcher(kid).matches()) {
            throw new SkrException(400, "malformed_request", "'kid' must be a key name or name/version (letters, digits, dashes), found '"
                    + safe(kid) + "'");
        }
        KeyPair runtime = runtimeKey();
        byte[] runtimeJwks = runtimeJwks((RSAPublicKey) runtime.getPublic());
        String token = maaToken(maaEndpoint, runtimeJwks);
        JsonNode answer = upstream.post(vault + "/keys/" + kid + "/release?api-version=7.4", Map.of("target", token, "enc", enc), "key release");
        String jws = answer.path("value").asText("");
        if (jws.isEmpty()) throw CompactJws.invalid("key release: " + vault + " answered without 'value' (the signed release)");
        JsonNode payload = CompactJws.verify(jws, jwks(vault, CompactJws.kid(jws)));
        return openRelease(payload, (RSAPrivateKey) runtime.getPrivate(), kid);
    }

    /** Turns the verified release payload into a private JWK. */
    static ObjectNode openRelease(JsonNode payload, RSAPrivateKey runtimeKey, String requestedKid) {
        JsonNode key = payload.path("response").path("key").path("key");
        if (!key.isObject()) throw CompactJws.invalid("the release payload has no response.key.key (the released JWK)");
        String releasedKid = key.path("kid").asText("");
        String name = requestedKid.contains("/") ? requestedKid.substring(0, requestedKid.indexOf('/')) : requestedKid;
        if (!releasedKid.contains("/keys/" + name + "/") && !releasedKid.equals(name) && !releasedKid.startsWith(name + "/")) {
            throw CompactJws.invalid("the vault released '" + safe(releasedKid) + "' but key '" + safe(requestedKid) + "' was asked for");
        }
        JsonNode hsm;
        try {
            hsm = Upstream.JSON.readTree(CompactJws.b64(key.path("key_hsm").asText(""), "key_hsm"));
        } catch (IOException e) {
            throw CompactJws.invalid("key_hsm is not base64url of JSON");
        }
        String wrapEnc = hsm.path("header").path("enc").asText("");
        byte[] material;
        try {
            material = KeyUnwrap.unwrap(runtimeKey, CompactJws.b64(hsm.path("ciphertext").asText(""), "key_hsm ciphertext"), wrapEnc);
        } catch (GeneralSecurityException e) {
            throw CompactJws.invalid("cannot unwrap the released key: " + e.getMessage());
        }
        try {
            return toJwk(key, material);
        } finally {
            Arrays.fill(material, (byte) 0);
        }
    }

    private static ObjectNode toJwk(JsonNode released, byte[] material) {
        String kty = released.path("kty").asText("");
        ObjectNode jwk = Upstream.JSON.createObjectNode();
        jwk.put("kid", released.path("kid").asText(""));
        try {
            switch (kty) {
                case "oct", "oct-HSM" -> {
                    jwk.put("kty", "oct");
                    jwk.put("k", B64URL.encodeToString(material));
                }
                case "RSA", "RSA-HSM" -> {
                    var k = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(material));
                    if (!(k instanceof RSAPrivateCrtKey rsa)) throw CompactJws.invalid("the released RSA key lacks CRT parameters");
                    jwk.put("kty", "RSA");
                    jwk.put("n", uint(rsa.getModulus(), 0));
                    jwk.put("e", uint(rsa.getPublicExponent(), 0));
                    jwk.put("d", uint(rsa.getPrivateExponent(), 0));
                    jwk.put("p", uint(rsa.getPrimeP(), 0));
                    jwk.put("q", uint(rsa.getPrimeQ(), 0));
                    jwk.put("dp", uint(rsa.getPrimeExponentP(), 0));
                    jwk.put("dq", uint(rsa.getPrimeExponentQ(), 0));
                    jwk.put("qi", uint(rsa.getCrtCoefficient(), 0));
                }
                case "EC", "EC-HSM" -> {
                    var k = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(material));
                    int size = (((ECPrivateKey) k).getParams().getCurve().getField().getFieldSize() + 7) / 8;
                    jwk.put("kty", "EC");
                    String crv = size == 32 ? "P-256" : size == 48 ? "P-384" : "P-521";
                    BigInteger d = ((ECPrivateKey) k).getS();
                    // PKCS#8 need not carry the public point, so derive it from d rather than trust the payload's copy.
                    var point = org.bouncycastle.asn1.nist.NISTNamedCurves.getByName(crv).getG().multiply(d).normalize();
                    jwk.put("crv", crv);
                    jwk.put("x", uint(point.getAffineXCoord().toBigInteger(), size));
                    jwk.put("y", uint(point.getAffineYCoord().toBigInteger(), size));
                    jwk.put("d", uint(d, size));
                }
                default -> throw CompactJws.invalid("the released key has type '" + safe(kty) + "'; expected oct, RSA or EC (-HSM)");
            }
        } catch (GeneralSecurityException e) {
            throw CompactJws.invalid("the released " + kty + " key is not PKCS#8: " + e.getMessage());
        }
        if (released.path("key_ops").isArray()) jwk.set("key_ops", released.path("key_ops").deepCopy());
        return jwk;
    }

    private static String uint(BigInteger v, int size) {
        byte[] b = v.toByteArray();
        if (b.length > 1 && b[0] == 0) b = Arrays.copyOfRange(b, 1, b.length);
        if (size > b.length) {
            byte[] padded = new byte[size];
            System.arraycopy(b, 0, padded, size - b.length, b.length);
            b = padded;
        }
        return B64URL.encodeToString(b);
    }

    /** The vault's signing keys: its OpenID configuration's jwks_uri, else {@code /certs}; refetched for an unknown kid. */
    private JsonNode jwks(String vault, String kid) {
        synchronized (jwksCache) {
            CachedJwks c = jwksCache.get(vault);
            if (c != null && clock.millis() - c.fetchedMillis < JWKS_TTL.toMillis() && hasKid(c.jwks, kid)) return c.jwks;
        }
        String uri = vault + "/certs";
        try {
            JsonNode conf = upstream.get(vault + "/.well-known/openid-configuration", "key vault discovery");
            String j = conf.path("jwks_uri").asText("");
            if (!j.isEmpty()) uri = j;
        } catch (SkrException e) {
            // No discovery document: Coffer's vault always serves its keys at /certs.
        }
        JsonNode jwks = upstream.get(uri, "key vault signing keys");
        if (!jwks.path("keys").isArray()) throw CompactJws.invalid(uri + " is not a JWK set (no 'keys' array)");
        synchronized (jwksCache) {
            jwksCache.put(vault, new CachedJwks(jwks, clock.millis()));
        }
        return jwks;
    }

    private static boolean hasKid(JsonNode jwks, String kid) {
        for (JsonNode k : jwks.path("keys")) if (k.path("kid").asText("").equals(kid)) return true;
        return false;
    }

    private static KeyPair runtimeKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("RSA is not available in this Java runtime", e);
        }
    }

    /** The exact runtime-data bytes: their SHA-256 goes into REPORT_DATA and the vault wraps to this key. */
    static byte[] runtimeJwks(RSAPublicKey pub) {
        ObjectNode jwk = Upstream.JSON.createObjectNode();
        jwk.put("kty", "RSA");
        jwk.put("kid", RUNTIME_KID);
        jwk.putArray("key_ops").add("encrypt");
        jwk.put("n", uint(pub.getModulus(), 0));
        jwk.put("e", uint(pub.getPublicExponent(), 0));
        ObjectNode set = Upstream.JSON.createObjectNode();
        ArrayNode keys = set.putArray("keys");
        keys.add(jwk);
        try {
            return Upstream.JSON.writeValueAsBytes(set);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isJsonObject(byte[] data) {
        try {
            JsonNode n = Upstream.JSON.readTree(data);
            return n != null && n.isObject();
        } catch (IOException e) {
            return false;
        }
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String safe(String s) {
        if (s == null) return "";
        String t = s.length() > 100 ? s.substring(0, 100) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }
}
