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
import java.util.Set;
import java.util.regex.Pattern;

import dev.coffer.channel.ChannelFormatException;
import dev.coffer.channel.CompactJws;
import dev.coffer.channel.Jwk;
import dev.coffer.channel.KeyWrapAlgorithm;
import dev.coffer.channel.SignedRelease;
import dev.coffer.channel.VolumeGeneration;

/**
 * What the SKR API does, without HTTP: raw reports, attestation tokens and secure key release
 * for the group's containers, in the flow of Azure's SKR sidecar.
 *
 * <p>Release: a fresh RSA-2048 runtime key per call; its public part as a JWK set
 * {@code {"keys":[{kty,kid:"TpmEphemeralEncryptionKey",key_ops,n,e}]}} is the runtime data, so
 * REPORT_DATA = SHA-256(those exact bytes) || 32 zero bytes (what the attestation service
 * checks); the token goes to {@code <akv>/keys/<kid>/release}; the signed answer is verified
 * against the release-signing key the policy pins for that vault ({@link KeyChannelTrust}), and the
 * key is unwrapped with the runtime key, which is then dropped. Endpoints are https (their
 * certificate pinned or trusted by the JDK); plain HTTP only to loopback in the process sandbox.
 * The wire formats are the channel module's, the code the vault writes them with. Nothing here
 * logs keys or tokens.
 */
public final class SecureKeyRelease {
    /** The kid the vault prefers when it picks the runtime key from {@code x-ms-runtime.keys}. */
    static final String RUNTIME_KID = dev.coffer.channel.RuntimeKey.KID;
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
    private final KeyChannelTrust trust;
    /** The guest's endorsement (COSE_Sign1, opaque here), sent with every attestation request; null for none. */
    private volatile byte[] guestEndorsement;

    private record CachedJwks(JsonNode jwks, long fetchedMillis) {}

    /** Releases with {@code CKM_RSA_AES_KEY_WRAP} (the sidecar's choice) and 30 s upstream timeouts. */
    public SecureKeyRelease(EvidenceSource tee, KeyChannelTrust trust) {
        this(tee, "CKM_RSA_AES_KEY_WRAP", Duration.ofSeconds(30), List.of(), trust);
    }

    /** @param enc {@code CKM_RSA_AES_KEY_WRAP} or {@code RSA_AES_KEY_WRAP_256}, asked of the vault */
    public SecureKeyRelease(EvidenceSource tee, String enc, Duration timeout, KeyChannelTrust trust) {
        this(tee, enc, timeout, List.of(), trust);
    }

    /**
     * @param allowedEndpoints the only attestation services and key vaults a caller may name, as
     *                         origins {@code scheme://host:port}; empty allows any. A container
     *                         otherwise could make the agent fetch whatever URL it likes.
     * @param trust            the pinned keys and certificates, and whether loopback plain HTTP is allowed
     */
    public SecureKeyRelease(EvidenceSource tee, String enc, Duration timeout, List<String> allowedEndpoints, KeyChannelTrust trust) {
        if (KeyWrapAlgorithm.fromName(enc) == null) {
            throw new IllegalArgumentException("key wrapping must be " + KeyWrapAlgorithm.names() + ", found '" + enc + "'");
        }
        this.tee = tee;
        this.guestEndorsement = tee == null ? null : tee.guestEndorsement();
        this.enc = enc;
        this.trust = trust;
        this.upstream = new Upstream(timeout, trust);
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
        String origin = Upstream.origin(base);
        if (origin.startsWith("http://") && !trust.developmentLoopback(origin)) {
            throw new SkrException(403, "endpoint_insecure", "'" + field + "' " + origin + " is plain HTTP; expected an https endpoint:"
                    + " the key channel crosses the host, so plain HTTP is allowed only to loopback in the process sandbox"
                    + " (coffer server serves https; pin its certificate in the spec)");
        }
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
        // an attestation service the policy pins must have signed the token: what a container
        // gets from /attest/maa, and what goes on to the vault, is then the pinned authority's
        Set<String> pins = trust.releaseKeysOf(Upstream.origin(base));
        if (!pins.isEmpty()) {
            try {
                SignedRelease.verifyPinned(token, jwks(base, CompactJws.parse(token, "the attestation token").kid()), pins,
                        "the attestation token", "token-signing");
            } catch (ChannelFormatException e) {
                throw new SkrException(502, "attestation_response_invalid", e.getMessage());
            }
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
        if (jws.isEmpty()) throw invalid("key release: " + vault + " answered without 'value' (the signed release)");
        JsonNode payload = verifyRelease(vault, jws);
        return openRelease(payload, (RSAPrivateKey) runtime.getPrivate(), kid);
    }

    /** A released volume key and the vault's generation of it, both from one signed release. */
    public record VolumeKeyRelease(ObjectNode jwk, long generation) {}

    /**
     * {@link #releaseKey} for a volume key: also returns the volume generation the vault signed
     * into the same release ({@link VolumeGeneration}). It is as fresh as the key: the key is
     * wrapped to this call's runtime key, so a release the host recorded earlier opens nothing.
     */
    public VolumeKeyRelease releaseVolumeKey(String maaEndpoint, String akvEndpoint, String kid) {
        String vault = endpoint(akvEndpoint, "akv_endpoint");
        endpoint(maaEndpoint, "maa_endpoint");
        checkKid(kid);
        KeyPair runtime = runtimeKey();
        String token = maaToken(maaEndpoint, runtimeJwks((RSAPublicKey) runtime.getPublic()));
        JsonNode answer = upstream.post(vault + "/keys/" + kid + "/release?api-version=7.4", Map.of("target", token, "enc", enc), "key release");
        String jws = answer.path("value").asText("");
        if (jws.isEmpty()) throw invalid("key release: " + vault + " answered without 'value' (the signed release)");
        JsonNode payload = verifyRelease(vault, jws);
        long generation;
        try {
            generation = VolumeGeneration.read(payload, kid, "the release response").generation();
        } catch (ChannelFormatException e) {
            throw invalid(e.getMessage());
        }
        return new VolumeKeyRelease(openRelease(payload, (RSAPrivateKey) runtime.getPrivate(), kid), generation);
    }

    /**
     * Moves volume key {@code kid}'s generation at the vault from {@code expected} to {@code next}
     * (compare-and-set), with a fresh attestation token (the authorisation a release needs), and
     * checks the vault's signed answer against the pinned release-signing key: it must name this
     * key, these two values and this request's token, so neither a forged nor a replayed answer
     * counts. A conflict (another session moved it) comes back as {@code generation_conflict}.
     */
    public void advanceGeneration(String maaEndpoint, String akvEndpoint, String kid, long expected, long next) {
        String vault = endpoint(akvEndpoint, "akv_endpoint");
        endpoint(maaEndpoint, "maa_endpoint");
        checkKid(kid);
        String token = maaToken(maaEndpoint, runtimeJwks((RSAPublicKey) runtimeKey().getPublic()));
        JsonNode answer = upstream.post(vault + "/keys/" + kid + "/generation",
                Map.of("target", token, "expected", expected, "next", next), "volume generation");
        String jws = answer.path("value").asText("");
        if (jws.isEmpty()) throw invalid("volume generation: " + vault + " answered without 'value' (the signed answer)");
        VolumeGeneration g;
        try {
            g = VolumeGeneration.read(verifyRelease(vault, jws), kid, "the vault's generation answer");
        } catch (ChannelFormatException e) {
            throw invalid(e.getMessage());
        }
        if (g.generation() != next || g.previous() == null || g.previous() != expected
                || !VolumeGeneration.targetDigest(token).equals(g.targetSha256())) {
            throw invalid("expected the vault's signed answer to move key '" + safe(kid) + "' from generation " + expected + " to " + next
                    + " for this request, found " + g.previous() + " -> " + g.generation() + (VolumeGeneration.targetDigest(token)
                    .equals(g.targetSha256()) ? "" : " for another request (a replayed answer)"));
        }
    }

    private static void checkKid(String kid) {
        if (kid == null || !KEY_ID.matcher(kid).matches()) {
            throw new SkrException(400, "malformed_request", "'kid' must be a key name or name/version (letters, digits, dashes), found '"
                    + safe(kid) + "'");
        }
    }

    /**
     * The release's payload once its signature verifies with the key pinned for {@code vault}.
     * The vault's key set only says which key a kid means; the pin says which keys count.
     */
    JsonNode verifyRelease(String vault, String jws) {
        String origin = Upstream.origin(vault);
        Set<String> pins = trust.releaseKeysOf(origin);
        try {
            String kid = CompactJws.parse(jws, "the release response").kid();
            JsonNode keys = jwks(vault, kid);
            if (pins.isEmpty()) {
                if (!trust.developmentLoopback(origin)) {
                    throw new SkrException(403, "release_key_not_pinned", "no release-signing key is pinned for vault " + origin
                            + "; expected its RFC 7638 thumbprint in the spec (skr.vault_keys, or the volume's vault_key) so the"
                            + " agent can tell the vault from whoever answers in its place (`coffer server pins` prints it)");
                }
                // process sandbox, loopback vault: the host is this machine anyway; the vault's own keys count
                List<String> served = new java.util.ArrayList<>();
                for (JsonNode k : keys.path("keys")) {
                    try {
                        served.add(Jwk.thumbprint(k));
                    } catch (ChannelFormatException e) {
                        // a key the vault serves that cannot sign (or is malformed) verifies nothing
                    }
                }
                if (served.isEmpty()) throw invalid(vault + " serves no usable release-signing key");
                return SignedRelease.verify(jws, keys, served);
            }
            return SignedRelease.verify(jws, keys, pins);
        } catch (ChannelFormatException e) {
            throw invalid(e.getMessage());
        }
    }

    /** Turns the verified release payload into a private JWK. */
    static ObjectNode openRelease(JsonNode payload, RSAPrivateKey runtimeKey, String requestedKid) {
        byte[] material;
        SignedRelease.Released released;
        try {
            released = SignedRelease.open(payload, requestedKid);
            material = released.unwrap(runtimeKey);
        } catch (ChannelFormatException e) {
            throw invalid(e.getMessage());
        }
        try {
            return toJwk(released.jwk(), material);
        } finally {
            Arrays.fill(material, (byte) 0);
        }
    }

    static SkrException invalid(String message) {
        return new SkrException(502, "release_response_invalid", message);
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
                    if (!(k instanceof RSAPrivateCrtKey rsa)) throw invalid("the released RSA key lacks CRT parameters");
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
                default -> throw invalid("the released key has type '" + safe(kty) + "'; expected oct, RSA or EC (-HSM)");
            }
        } catch (GeneralSecurityException e) {
            throw invalid("the released " + kty + " key is not PKCS#8: " + e.getMessage());
        }
        if (released.path("key_ops").isArray()) jwk.set("key_ops", released.path("key_ops").deepCopy());
        return jwk;
    }

    private static String uint(BigInteger v, int size) {
        return Jwk.b64(v, size);
    }

    /** The vault's signing keys: its OpenID configuration's jwks_uri, else {@code /certs}; refetched for an unknown kid. */
    private JsonNode jwks(String vault, String kid) {
        synchronized (jwksCache) {
            CachedJwks c = jwksCache.get(vault);
            if (c != null && clock.millis() - c.fetchedMillis < JWKS_TTL.toMillis() && hasKid(c.jwks, kid)) return c.jwks;
        }
        String uri = vault + "/certs";
        JsonNode conf = null;
        try {
            conf = upstream.get(vault + "/.well-known/openid-configuration", "signing key discovery");
        } catch (SkrException e) {
            // No discovery document: Coffer's vault always serves its keys at /certs.
        }
        String j = conf == null ? "" : conf.path("jwks_uri").asText("");
        if (!j.isEmpty()) {
            // followed only within the vault's own origin: a discovery document must not send the
            // agent (and its TLS pin checks) to a host the policy never named
            String target;
            try {
                target = Upstream.origin(Upstream.baseUrl(j, "jwks_uri"));
            } catch (SkrException | IllegalArgumentException e) {
                throw invalid("the vault's jwks_uri '" + safe(j) + "' is not an http(s) URL");
            }
            if (!target.equals(Upstream.origin(vault))) {
                throw invalid("the vault's jwks_uri points to " + target + "; expected a URL on the vault's own origin "
                        + Upstream.origin(vault) + " (jwks_uri is followed only within the pinned origin)");
            }
            uri = j;
        }
        JsonNode jwks = upstream.get(uri, "signing keys");
        if (!jwks.path("keys").isArray()) throw invalid(uri + " is not a JWK set (no 'keys' array)");
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
        return dev.coffer.channel.RuntimeKey.runtimeData(pub);
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
