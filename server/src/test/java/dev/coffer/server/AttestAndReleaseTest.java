package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.client.MaaRequest;
import dev.coffer.server.http.Json;
import dev.coffer.channel.KeyWrapAlgorithm;
import dev.coffer.channel.RsaAesKeyWrap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class AttestAndReleaseTest {
    static final byte[] MEASUREMENT = Fixture.bytes(48, 0x11);
    static final byte[] HOST_DATA = Fixture.bytes(32, 0x22);

    @TempDir
    static Path home;
    static CofferServer server;
    static String admin;
    static CofferClient client;

    @BeforeAll
    static void start() throws Exception {
        server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        admin = Files.readString(home.resolve("server/admin-token")).strip();
        client = new CofferClient(server.url(), admin);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Map<String, Object> policy(String hostData) {
        return Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", server.issuerName(), "allOf", List.of(
                Map.of("claim", "x-ms-attestation-type", "equals", dev.coffer.server.token.AttestationTypes.SIM_SEVSNPVM),
                Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", hostData)))));
    }

    @Test
    void discoveryAndHealth() throws Exception {
        Fixture.Raw health = Fixture.call("GET", server.url() + "/health", null, null);
        assertEquals(200, health.status());
        assertEquals("sqlite", health.json().path("store").asText());
        JsonNode oidc = Fixture.call("GET", server.url() + "/.well-known/openid-configuration", null, null).json();
        assertEquals(server.issuerName(), oidc.path("issuer").asText());
        assertEquals(server.url() + "/certs", oidc.path("jwks_uri").asText());
        JWKSet jwks = JWKSet.parse(Fixture.call("GET", server.url() + "/certs", null, null).body());
        assertEquals(2, jwks.getKeys().size());
        assertTrue(jwks.getKeys().stream().noneMatch(k -> k.isPrivate()), "JWKS must hold public keys only");
    }

    @Test
    void simEvidenceEarnsATokenWithMaaClaims() throws Exception {
        Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
        String token = client.attest(guest.maaBody());
        SignedJWT jwt = SignedJWT.parse(token);
        JWKSet jwks = JWKSet.parse(Fixture.call("GET", server.url() + "/certs", null, null).body());
        ECKey key = (ECKey) jwks.getKeyByKeyId(jwt.getHeader().getKeyID());
        assertTrue(jwt.verify(new ECDSAVerifier(key)));
        var claims = jwt.getJWTClaimsSet();
        // simulated evidence has its own type: no policy written for hardware (sevsnpvm) matches it
        assertEquals("coffer-sim-sevsnpvm", claims.getStringClaim("x-ms-attestation-type"));
        assertEquals("coffer-compliant-guest", claims.getStringClaim("x-ms-compliance-status"));
        assertEquals("coffer-guest", claims.getStringClaim("x-coffer-endorsement-feed"));
        assertTrue(claims.getStringClaim("x-coffer-endorsement-issuer").startsWith("did:x509:0:sha256:"));
        assertEquals("1", claims.getStringClaim("x-coffer-endorsement-svn"));
        assertEquals("endorsement", claims.getStringClaim("x-coffer-measurement-source"));
        assertNull(claims.getClaim("x-coffer-measurement-unchecked"));
        assertEquals(0L, claims.getLongClaim("x-ms-sevsnpvm-vmpl"));
        assertEquals(true, claims.getBooleanClaim("x-ms-sevsnpvm-smt-allowed"));
        assertEquals(Fixture.hex(HOST_DATA), claims.getStringClaim("x-ms-sevsnpvm-hostdata"));
        assertEquals(Fixture.hex(MEASUREMENT), claims.getStringClaim("x-ms-sevsnpvm-launchmeasurement"));
        assertEquals("sim", claims.getStringClaim("x-coffer-tee"));
        assertEquals(false, claims.getBooleanClaim("x-ms-sevsnpvm-is-debuggable"));
        assertEquals(server.issuerName(), claims.getIssuer());
        assertNotNull(claims.getJWTID());
        assertNotNull(claims.getExpirationTime());
        assertEquals("nonce-1", claims.getStringClaim("nonce"));
        @SuppressWarnings("unchecked")
        List<Object> keys = (List<Object>) claims.getJSONObjectClaim("x-ms-runtime").get("keys");
        assertEquals(1, keys.size());
    }

    @Test
    void runtimeDataNotInReportIsRefused() throws Exception {
        Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
        Fixture.Guest other = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
        // The report binds guest's key, the request carries other's key.
        var body = MaaRequest.body(guest.report(), guest.chainPem(), other.runtimeJson, null);
        Fixture.Raw r = Fixture.call("POST", server.url() + "/attest/SevSnpVm", Json.string(body), null);
        assertEquals(400, r.status());
        assertEquals("runtime_data_mismatch", r.code());
    }

    @Test
    void tamperedTruncatedAndGarbageEvidenceGet4xx() throws Exception {
        Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
        byte[] report = guest.report();
        report[0x90] ^= 1; // inside MEASUREMENT: signed bytes
        Fixture.Raw tampered = Fixture.call("POST", server.url() + "/attest/SevSnpVm",
                Json.string(MaaRequest.body(report, guest.chainPem(), guest.runtimeJson, null)), null);
        assertEquals(400, tampered.status());
        assertEquals("evidence_invalid", tampered.code());
        assertTrue(tampered.json().path("error").path("message").asText().contains("report_signature"), tampered.body());

        byte[] truncated = java.util.Arrays.copyOf(guest.report(), 1000);
        Fixture.Raw t = Fixture.call("POST", server.url() + "/attest/SevSnpVm",
                Json.string(MaaRequest.body(truncated, guest.chainPem(), guest.runtimeJson, null)), null);
        assertEquals(400, t.status());
        assertEquals("malformed_request", t.code());

        for (String garbage : List.of("", "{", "[]", "null", "{\"report\":5}", "{\"report\":\"!!!\"}", "{\"report\":\"e30\"}",
                "{\"report\":\"" + Base64.getUrlEncoder().encodeToString("{\"SnpReport\":\"AAAA\"}".getBytes()) + "\"}",
                "\u0000\u0001binary")) {
            Fixture.Raw g = Fixture.call("POST", server.url() + "/attest/SevSnpVm", garbage, null);
            assertTrue(g.status() >= 400 && g.status() < 500, garbage + " -> " + g.status() + " " + g.body());
            assertFalse(g.code().isEmpty(), g.body());
        }
        Fixture.Raw noVcek = Fixture.call("POST", server.url() + "/attest/SevSnpVm",
                Json.string(MaaRequest.body(guest.report(), guest.sim.chainPem(), guest.runtimeJson, null)), null);
        assertEquals("collateral_unavailable", noVcek.code());
    }

    @Test
    void oversizedBodiesAreRefusedBeforeParsing() throws Exception {
        int limit = server.config().maxBodyBytes();
        // Declared too large: the server answers from the headers alone, so the client never has to
        // send the body. (Sending it anyway races the server's close of a connection whose body it
        // will not read: the peer's reset can discard the answer before the client reads it.)
        Fixture.Raw declared = Fixture.rawExchange(server.url(), "POST /attest/SevSnpVm HTTP/1.1\r\nHost: x\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + (limit + 1) + "\r\n\r\n", new byte[0]);
        assertEquals(413, declared.status(), declared.body());
        assertEquals("body_too_large", declared.code());
        assertTrue(declared.body().contains(String.valueOf(limit)), declared.body());

        // Undeclared length (chunked): the server reads one byte past the limit and stops there.
        byte[] chunk = new byte[limit + 1];
        java.util.Arrays.fill(chunk, (byte) 'a');
        byte[] framed = (Integer.toHexString(chunk.length) + "\r\n" + new String(chunk, StandardCharsets.US_ASCII) + "\r\n0\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        Fixture.Raw chunked = Fixture.rawExchange(server.url(), "POST /attest/SevSnpVm HTTP/1.1\r\nHost: x\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", framed);
        assertEquals(413, chunked.status(), chunked.body());
        assertEquals("body_too_large", chunked.code());

        // A client that asks before sending (Expect: 100-continue) gets the refusal and sends nothing.
        byte[] big = new byte[limit + 1];
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url() + "/attest/SevSnpVm"))
                .expectContinue(true).POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(big)).build();
        java.net.http.HttpResponse<String> r = Fixture.HTTP.send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(413, r.statusCode(), r.body());
    }

    @Test
    void unknownPathsMethodsAndMissingAdminTokenHaveStableCodes() throws Exception {
        assertEquals("not_found", Fixture.call("GET", server.url() + "/nope", null, null).code());
        assertEquals("method_not_allowed", Fixture.call("DELETE", server.url() + "/certs", null, null).code());
        Fixture.Raw unauth = Fixture.call("GET", server.url() + "/keys", null, null);
        assertEquals(401, unauth.status());
        assertEquals("unauthenticated", unauth.code());
        assertEquals("unauthenticated", Fixture.call("GET", server.url() + "/keys", null, "coffer_admin_wrong").code());
    }

    @Test
    void debuggableGuestIsDeniedByAppraisal() throws Exception {
        Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L | (1L << 19));
        Fixture.Raw r = Fixture.call("POST", server.url() + "/attest/SevSnpVm", Json.string(guest.maaBody()), null);
        assertEquals(403, r.status());
        assertEquals("policy_denied", r.code());
        assertTrue(r.body().contains("not_debuggable"), r.body());
    }

    @Test
    void anUnendorsedMeasurementIsAcceptedOnlyAsAReferenceValue() throws Exception {
        String other = "ab".repeat(48);
        client.post("/admin/reference-values", Map.of("measurement", other));
        try {
            Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            Fixture.Raw r = Fixture.call("POST", server.url() + "/attest/SevSnpVm", Json.string(guest.unendorsedBody()), null);
            assertEquals(403, r.status(), r.body());
            assertEquals("measurement_not_endorsed", r.code());
            assertTrue(r.body().contains(Fixture.hex(MEASUREMENT)), r.body());
            client.post("/admin/reference-values", Map.of("measurement", Fixture.hex(MEASUREMENT)));
            var claims = SignedJWT.parse(client.attest(guest.unendorsedBody())).getJWTClaimsSet();
            assertEquals("reference-value", claims.getStringClaim("x-coffer-measurement-source"));
            assertNull(claims.getClaim("x-ms-compliance-status"), "a reference value is not an endorsement");
        } finally {
            client.delete("/admin/reference-values/" + other);
            client.delete("/admin/reference-values/" + Fixture.hex(MEASUREMENT));
        }
    }

    @Test
    void keyIsReleasedWrappedToTheRuntimeKeyWithBothAlgorithms() throws Exception {
        byte[] secret = Fixture.bytes(32, 0x5a);
        client.put("/keys/release-oct", Map.of("key", Map.of("kty", "oct", "k", Base64.getUrlEncoder().withoutPadding().encodeToString(secret)),
                "exportable", true, "release_policy", policy(Fixture.hex(HOST_DATA))));
        Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
        String token = client.attest(guest.maaBody());
        for (KeyWrapAlgorithm alg : KeyWrapAlgorithm.values()) {
            String jws = client.release("release-oct", null, token, alg.name());
            JWSObject signed = JWSObject.parse(jws);
            JWKSet jwks = JWKSet.parse(Fixture.call("GET", server.url() + "/certs", null, null).body());
            assertTrue(signed.verify(new ECDSAVerifier((ECKey) jwks.getKeyByKeyId(signed.getHeader().getKeyID()))));
            JsonNode key = Json.parse(signed.getPayload().toString()).path("response").path("key").path("key");
            assertEquals("oct-HSM", key.path("kty").asText());
            JsonNode hsm = Json.MAPPER.readTree(Base64.getUrlDecoder().decode(key.path("key_hsm").asText()));
            assertEquals(alg.name(), hsm.path("header").path("enc").asText());
            byte[] wrapped = Base64.getUrlDecoder().decode(hsm.path("ciphertext").asText());
            assertArrayEquals(secret, RsaAesKeyWrap.unwrap(guest.runtimeKey.toRSAPrivateKey(), wrapped, alg));
        }
        JsonNode audit = client.get("/audit?key=release-oct");
        assertEquals("released", audit.path("entries").get(0).path("verdict").asText());
        assertEquals(SignedJWT.parse(token).getJWTClaimsSet().getJWTID(), audit.path("entries").get(0).path("jti").asText());
    }

    @Test
    void generatedRsaAndEcKeysReleaseAsPkcs8() throws Exception {
        Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
        String token = client.attest(guest.maaBody());
        for (var spec : List.of(Map.of("kty", "RSA", "key_size", 3072), Map.of("kty", "EC", "crv", "P-384"))) {
            String name = "gen-" + spec.get("kty");
            var req = new java.util.HashMap<String, Object>(spec);
            req.put("exportable", true);
            req.put("release_policy", policy(Fixture.hex(HOST_DATA)));
            JsonNode created = client.post("/keys/" + name + "/create", req);
            String jws = client.release(name, created.path("version").asText(), token, null);
            JsonNode key = Json.parse(JWSObject.parse(jws).getPayload().toString()).path("response").path("key").path("key");
            JsonNode hsm = Json.MAPPER.readTree(Base64.getUrlDecoder().decode(key.path("key_hsm").asText()));
            byte[] pkcs8 = RsaAesKeyWrap.unwrap(guest.runtimeKey.toRSAPrivateKey(),
                    Base64.getUrlDecoder().decode(hsm.path("ciphertext").asText()), KeyWrapAlgorithm.CKM_RSA_AES_KEY_WRAP);
            var priv = java.security.KeyFactory.getInstance(spec.get("kty").toString())
                    .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8));
            assertNotNull(priv);
            assertEquals(created.path("public_jwk").path("kty").asText(), spec.get("kty"));
        }
    }
}
