package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.http.Json;
import dev.coffer.server.token.SigningKeyRing;
import dev.coffer.server.token.TokenIssuer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Every way a release can be refused: a precise 4xx, a stable code, an audit entry, no state change. */
class ReleaseBadInputTest {
    static final byte[] MEASUREMENT = Fixture.bytes(48, 0x31);
    static final byte[] HOST_DATA = Fixture.bytes(32, 0x32);

    @TempDir
    static Path home;
    @TempDir
    static Path elsewhere;
    static CofferServer server;
    static CofferClient client;
    static Fixture.Guest guest;
    static Map<String, Object> runtimeClaim;

    @BeforeAll
    static void start() throws Exception {
        server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        client = new CofferClient(server.url(), Files.readString(home.resolve("server/admin-token")).strip());
        guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
        runtimeClaim = Json.MAPPER.readValue(guest.runtimeJson, Map.class);
        client.post("/keys/target/create", Map.of("kty", "oct", "exportable", true, "release_policy", policy(server.issuerName(), Fixture.hex(HOST_DATA))));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Map<String, Object> policy(String authority, String hostData) {
        return Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", authority, "allOf", List.of(
                Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", hostData),
                Map.of("claim", "x-coffer-tee", "equals", "sim")))));
    }

    static Map<String, Object> claims(String hostData) {
        Map<String, Object> c = new HashMap<>();
        c.put("x-ms-attestation-type", "sevsnpvm");
        c.put("x-ms-sevsnpvm-hostdata", hostData);
        c.put("x-coffer-tee", "sim");
        c.put("x-ms-runtime", runtimeClaim);
        return c;
    }

    private Fixture.Raw release(String key, String token) throws Exception {
        return Fixture.call("POST", server.url() + "/keys/" + key + "/release", Json.string(Map.of("target", token)), null);
    }

    private void assertRefused(Fixture.Raw r, int status, String code, String key) {
        assertEquals(status, r.status(), r.body());
        assertEquals(code, r.code(), r.body());
        assertFalse(r.json().path("error").path("message").asText().isBlank());
        JsonNode latest = client.get("/audit?limit=1" + (key == null ? "" : "&key=" + key)).path("entries").get(0);
        assertEquals("denied", latest.path("verdict").asText());
        assertEquals(code, latest.path("code").asText());
    }

    @Test
    void aValidTokenIsReleased() throws Exception {
        String token = client.attest(guest.maaBody());
        Fixture.Raw r = release("target", token);
        assertEquals(200, r.status(), r.body());
        assertEquals("released", client.get("/audit?limit=1&key=target").path("entries").get(0).path("verdict").asText());
    }

    @Test
    void tokenSignedByAnotherKeyIsRefused() throws Exception {
        // Same issuer name and kid, different private key: a forgery.
        SigningKeyRing foreign = SigningKeyRing.open(elsewhere.resolve("ring.json"), Duration.ofHours(1), Clock.systemUTC());
        String forged = new TokenIssuer(foreign, server.issuerName(), JWSAlgorithm.ES256, Duration.ofHours(1), Clock.systemUTC())
                .issue(claims(Fixture.hex(HOST_DATA)));
        String realKid = server.signingKeys().active(JWSAlgorithm.ES256).kid();
        String[] parts = forged.split("\\.");
        String header = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                ("{\"alg\":\"ES256\",\"kid\":\"" + realKid + "\",\"typ\":\"JWT\"}").getBytes());
        assertRefused(release("target", header + "." + parts[1] + "." + parts[2]), 401, "token_signature_invalid", "target");
        // Unknown kid is a signature failure as well.
        assertRefused(release("target", forged), 401, "token_signature_invalid", "target");
    }

    @Test
    void expiredAndReplayedTokensAreRefused() throws Exception {
        Clock twoHoursAgo = Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC);
        String old = new TokenIssuer(server.signingKeys(), server.issuerName(), JWSAlgorithm.ES256, Duration.ofHours(1), twoHoursAgo)
                .issue(claims(Fixture.hex(HOST_DATA)));
        assertRefused(release("target", old), 401, "token_expired", "target");
        Clock future = Clock.fixed(Instant.now().plus(Duration.ofHours(1)), ZoneOffset.UTC);
        String early = new TokenIssuer(server.signingKeys(), server.issuerName(), JWSAlgorithm.RS256, Duration.ofHours(1), future)
                .issue(claims(Fixture.hex(HOST_DATA)));
        assertRefused(release("target", early), 401, "token_not_yet_valid", "target");
    }

    @Test
    void tokenOfAnotherGuestIsDeniedByPolicyNamingTheRule() throws Exception {
        Fixture.Guest modified = new Fixture.Guest(home, MEASUREMENT, Fixture.bytes(32, 0x99), 0x30000L);
        Fixture.Raw r = release("target", client.attest(modified.maaBody()));
        assertRefused(r, 403, "release_denied", "target");
        assertTrue(r.body().contains("x-ms-sevsnpvm-hostdata"), r.body());
    }

    @Test
    void tokenFromAnUntrustedIssuerIsRefused() throws Exception {
        String other = new TokenIssuer(server.signingKeys(), "https://attacker.example", JWSAlgorithm.ES256, Duration.ofHours(1),
                Clock.systemUTC()).issue(claims(Fixture.hex(HOST_DATA)));
        assertRefused(release("target", other), 401, "token_issuer_untrusted", "target");
    }

    @Test
    void tokenWithoutAUsableRuntimeKeyIsRefused() throws Exception {
        Map<String, Object> c = claims(Fixture.hex(HOST_DATA));
        c.put("x-ms-runtime", Map.of("keys", List.of(Map.of("kty", "EC", "crv", "P-256",
                "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"))));
        String token = server.tokenIssuer().issue(c);
        assertRefused(release("target", token), 400, "token_runtime_key_invalid", "target");
        c.remove("x-ms-runtime");
        assertRefused(release("target", server.tokenIssuer().issue(c)), 400, "token_runtime_key_invalid", "target");
    }

    @Test
    void malformedTokensAndBodiesAreRefused() throws Exception {
        for (String garbage : List.of("x", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "....")) {
            assertRefused(release("target", garbage), 401, "token_malformed", "target");
        }
        assertRefused(Fixture.call("POST", server.url() + "/keys/target/release", "{not json", null), 400, "malformed_request", "target");
        assertRefused(Fixture.call("POST", server.url() + "/keys/target/release", "{\"target\": 12}", null), 400, "malformed_request", "target");
        assertRefused(Fixture.call("POST", server.url() + "/keys/target/release", "{}", null), 400, "malformed_request", "target");
        String token = client.attest(guest.maaBody());
        assertRefused(Fixture.call("POST", server.url() + "/keys/target/release",
                Json.string(Map.of("target", token, "enc", "ROT13")), null), 400, "malformed_request", "target");
    }

    @Test
    void unknownKeysAndVersionsAreRefused() throws Exception {
        String token = client.attest(guest.maaBody());
        assertRefused(release("no-such-key", token), 404, "key_not_found", "no-such-key");
        assertRefused(Fixture.call("POST", server.url() + "/keys/target/" + "0".repeat(32) + "/release",
                Json.string(Map.of("target", token)), null), 404, "key_not_found", "target");
    }

    @Test
    void nonExportableKeysAreNeverReleased() throws Exception {
        client.post("/keys/internal/create", Map.of("kty", "EC", "crv", "P-256"));
        assertRefused(release("internal", client.attest(guest.maaBody())), 403, "key_not_exportable", "internal");
    }

    @Test
    void malformedPoliciesAreRefusedOnUploadWithThePathAtFault() throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"anyOf\":[]}", "policy: missing 'version'");
        cases.put("{\"version\":\"2.0\",\"anyOf\":[]}", "policy.version");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[]}", "policy.anyOf: expected at least one entry");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[{\"allOf\":[]}]}", "policy.anyOf[0]: missing 'authority'");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"ftp://x\",\"allOf\":[{\"claim\":\"a\",\"equals\":1}]}]}", "policy.anyOf[0].authority");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"allOf\":[{\"claim\":\"a\",\"equals\":1,\"greater\":2}]}]}",
                "policy.anyOf[0].allOf[0]: condition has two operators");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"allOf\":[{\"claim\":\"a\",\"less\":\"x\"}]}]}",
                "policy.anyOf[0].allOf[0].less: expected a number");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"allOf\":[{\"claim\":\"a..b\",\"exists\":true}]}]}",
                "empty path segment");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"allOf\":[{\"claim\":\"a\",\"matches\":\"x\"}]}]}",
                "unknown field 'matches'");
        cases.put("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"allOf\":[{\"claim\":\"a\",\"exists\":\"yes\"}]}]}",
                "expected true or false");
        for (var e : cases.entrySet()) {
            String body = "{\"kty\":\"oct\",\"exportable\":true,\"release_policy\":" + e.getKey() + "}";
            Fixture.Raw r = Fixture.call("POST", server.url() + "/keys/bad-policy/create", body, client.baseUrl().isEmpty() ? null
                    : Files.readString(home.resolve("server/admin-token")).strip());
            assertEquals(400, r.status(), e.getKey());
            assertEquals("policy_invalid", r.code(), e.getKey());
            String msg = r.json().path("error").path("message").asText();
            assertTrue(msg.contains(e.getValue()), "expected '" + e.getValue() + "' in: " + msg);
        }
        Fixture.Raw missing = Fixture.call("GET", server.url() + "/keys/bad-policy", null,
                Files.readString(home.resolve("server/admin-token")).strip());
        assertEquals("key_not_found", missing.code(), "a refused upload must not create the key");
    }

    @Test
    void immutablePoliciesStayPut() throws Exception {
        client.post("/keys/frozen/create", Map.of("kty", "oct", "exportable", true, "immutable", true,
                "release_policy", policy(server.issuerName(), Fixture.hex(HOST_DATA))));
        var e = assertThrows(dev.coffer.server.client.ApiClientException.class, () -> client.put("/keys/frozen/policy",
                Map.of("release_policy", policy(server.issuerName(), "00".repeat(32)))));
        assertEquals("policy_immutable", e.code());
        assertEquals(Fixture.hex(HOST_DATA), client.get("/keys/frozen").path("release_policy").path("anyOf").get(0)
                .path("allOf").get(0).path("equals").asText());
    }

    @Test
    void rotationKeepsOldVersionsReleasableAndChangesLatest() throws Exception {
        JsonNode v1 = client.post("/keys/rotating/create", Map.of("kty", "oct", "exportable", true,
                "release_policy", policy(server.issuerName(), Fixture.hex(HOST_DATA))));
        JsonNode v2 = client.post("/keys/rotating/rotate", Map.of());
        assertNotEquals(v1.path("version").asText(), v2.path("version").asText());
        assertEquals(2, v2.path("version_number").asInt());
        assertEquals(2, client.get("/keys/rotating").path("versions").size());
        String token = client.attest(guest.maaBody());
        assertEquals(200, Fixture.call("POST", server.url() + "/keys/rotating/" + v1.path("version").asText() + "/release",
                Json.string(Map.of("target", token)), null).status());
        client.delete("/keys/rotating");
        assertRefused(release("rotating", token), 404, "key_not_found", "rotating");
    }

    @Test
    void signingKeyRotationKeepsOldTokensVerifiable() throws Exception {
        String before = client.attest(guest.maaBody());
        String oldKid = com.nimbusds.jwt.SignedJWT.parse(before).getHeader().getKeyID();
        client.post("/admin/signing-keys/rotate", Map.of());
        JWKSet jwks = JWKSet.parse(Fixture.call("GET", server.url() + "/certs", null, null).body());
        assertNotNull(jwks.getKeyByKeyId(oldKid), "retired key stays in the JWKS while its tokens are valid");
        assertEquals(4, jwks.getKeys().size());
        assertEquals(200, release("target", before).status());
        String after = client.attest(guest.maaBody());
        assertNotEquals(oldKid, com.nimbusds.jwt.SignedJWT.parse(after).getHeader().getKeyID());
        assertEquals(200, release("target", after).status());
    }
}
