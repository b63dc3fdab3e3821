package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.coffer.attest.dcap.Collateral;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.http.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SGX/TDX through the server as MAA clients call it: real quotes, real Intel collateral uploaded by
 * the admin, a server clock inside the collateral's window, tokens with MAA's claim names, and the
 * vault's release policies over those claims.
 */
class DcapAttestAndReleaseTest {
    static final Path DATA = Path.of(System.getProperty("coffer.shared", "../../shared")).resolve("testdata/attestation");
    static final String GO = "intel/tdx-go-tdx-guest/";
    static final String MRTD_4 = "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031";

    @TempDir
    static Path home;
    static CofferServer server;
    static CofferClient client;

    @BeforeAll
    static void start() throws Exception {
        // tdx_quote_4 is a debug TD: this server accepts debuggable workloads (the default policy's denial is tested in DcapAppraisalPolicyTest).
        server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withAllowDebug(true)
                .withClock(Clock.fixed(Instant.parse("2023-07-01T00:00:00Z"), ZoneOffset.UTC)));
        client = new CofferClient(server.url(), Files.readString(home.resolve("server/admin-token")).strip());
        client.send("POST", "/admin/collateral/intel", Json.MAPPER.readTree(bundle()));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static byte[] read(String rel) throws Exception {
        return Files.readAllBytes(DATA.resolve(rel));
    }

    static String bundle() throws Exception {
        String chain = new String(read(GO + "tcb_info_issuer_chain.pem"), StandardCharsets.US_ASCII);
        return Collateral.fromPcsResponses(new String(read(GO + "sample_tcbInfo_response"), StandardCharsets.UTF_8), chain,
                new String(read(GO + "sample_qeIdentity_response"), StandardCharsets.UTF_8), chain, read(GO + "pckcrl"),
                new String(read(GO + "pck_crl_issuer_chain.pem"), StandardCharsets.US_ASCII), read(GO + "rootcrl.der")).toBundleJson();
    }

    static Map<String, Object> body(byte[] quote) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quote", Base64.getUrlEncoder().withoutPadding().encodeToString(quote));
        m.put("nonce", "n-1");
        return m;
    }

    static Fixture.Raw post(String route, Map<String, Object> body) throws Exception {
        return Fixture.call("POST", server.url() + route, Json.string(body), null);
    }

    @Test
    void tdxQuoteEarnsATokenWithMaaClaims() throws Exception {
        Fixture.Raw r = post("/attest/TdxVm", body(read("intel/tdx-trustee/tdx_quote_4.dat")));
        assertEquals(200, r.status(), r.body());
        SignedJWT jwt = SignedJWT.parse(r.json().path("token").asText());
        JWKSet jwks = JWKSet.parse(Fixture.call("GET", server.url() + "/certs", null, null).body());
        assertTrue(jwt.verify(new ECDSAVerifier((ECKey) jwks.getKeyByKeyId(jwt.getHeader().getKeyID()))));
        JWTClaimsSet c = jwt.getJWTClaimsSet();
        assertEquals("tdxvm", c.getStringClaim("x-ms-attestation-type"));
        assertEquals(MRTD_4, c.getStringClaim("tdx_mrtd"));
        assertEquals("0".repeat(96), c.getStringClaim("tdx_mrconfigid"));
        assertEquals(true, c.getBooleanClaim("tdx_td_attributes_debug"));
        assertEquals("UpToDate", c.getStringClaim("attester_tcb_status"));
        assertEquals(List.of(), c.getStringListClaim("attester_advisory_ids"));
        assertEquals("03000500000000000000000000000000", c.getStringClaim("tdx_tee_tcb_svn"));
        assertTrue(c.getStringClaim("tdx_report_data").startsWith("7c71fe2c"));
        for (int i = 0; i < 4; i++) assertNotNull(c.getStringClaim("tdx_rtmr" + i));
        assertEquals("tdx", c.getStringClaim("x-coffer-tee"));
        assertEquals("n-1", c.getStringClaim("nonce"));
    }

    @Test
    void releasePolicyPinningMrtdAndMrconfigidMatchesOnlyThatTd() throws Exception {
        String token = post("/attest/TdxVm", body(read("intel/tdx-trustee/tdx_quote_4.dat"))).json().path("token").asText();
        byte[] secret = Fixture.bytes(32, 0x33);
        String k = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        client.put("/keys/td-key", Map.of("key", Map.of("kty", "oct", "k", k), "exportable", true, "release_policy",
                policy(List.of(Map.of("claim", "x-ms-attestation-type", "equals", "tdxvm"), Map.of("claim", "tdx_mrtd", "equals", MRTD_4),
                        Map.of("claim", "tdx_mrconfigid", "equals", "0".repeat(96)), Map.of("claim", "attester_tcb_status", "equals", "UpToDate")))));
        client.put("/keys/other-td-key", Map.of("key", Map.of("kty", "oct", "k", k), "exportable", true, "release_policy",
                policy(List.of(Map.of("claim", "tdx_mrtd", "equals", "ab".repeat(48))))));
        Map<String, Object> release = Map.of("target", token);
        Fixture.Raw other = Fixture.call("POST", server.url() + "/keys/other-td-key/release", Json.string(release), null);
        assertEquals(403, other.status(), other.body());
        assertEquals("release_denied", other.code());
        assertTrue(other.body().contains("tdx_mrtd"), other.body());
        // The policy holds for this TD; the captured quote binds no runtime key (its REPORTDATA is the
        // upstream test's), so the vault stops at wrapping: a fresh quote binding SHA-256(runtime JWKS) would release.
        Fixture.Raw mine = Fixture.call("POST", server.url() + "/keys/td-key/release", Json.string(release), null);
        assertEquals("token_runtime_key_invalid", mine.code(), mine.body());
    }

    static Map<String, Object> policy(List<Map<String, Object>> allOf) {
        return Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", server.issuerName(), "allOf", allOf)));
    }

    @Test
    void refusalsAreFourHundredsWithPreciseCodes() throws Exception {
        byte[] quote = read("intel/tdx-trustee/tdx_quote_4.dat");
        byte[] tampered = quote.clone();
        tampered[48 + 136] ^= 1; // MRTD
        Fixture.Raw t = post("/attest/TdxVm", body(tampered));
        assertEquals("evidence_invalid", t.code(), t.body());
        assertTrue(t.body().contains("quote_signature"), t.body());

        Fixture.Raw cut = post("/attest/TdxVm", body(java.util.Arrays.copyOf(quote, 700)));
        assertEquals(400, cut.status());
        assertEquals("malformed_request", cut.code());
        assertTrue(cut.body().contains("truncated"), cut.body());

        Fixture.Raw wrongRoute = post("/attest/SgxEnclave", body(quote));
        assertEquals("malformed_request", wrongRoute.code());
        assertTrue(wrongRoute.body().contains("/attest/TdxVm"), wrongRoute.body());

        Fixture.Raw noCollateral = post("/attest/SgxEnclave", body(read("intel/sgx-trustee/occlum_quote.dat")));
        assertEquals(503, noCollateral.status(), noCollateral.body());
        assertEquals("collateral_unavailable", noCollateral.code());

        Fixture.Raw noLevel = post("/attest/TdxVm", body(read(GO + "tdx_prod_quote_SPR_E4.dat")));
        assertEquals("evidence_invalid", noLevel.code());
        assertTrue(noLevel.body().contains("no TCB level"), noLevel.body());

        Map<String, Object> mismatch = body(quote);
        mismatch.put("runtimeData", Map.of("data", Base64.getUrlEncoder().encodeToString("{\"keys\":[]}".getBytes()), "dataType", "JSON"));
        Fixture.Raw rd = post("/attest/TdxVm", mismatch);
        assertEquals("runtime_data_mismatch", rd.code(), rd.body());

        Map<String, Object> withCollateral = body(quote);
        withCollateral.put("collateral", Map.of("tcb_info", "{}"));
        assertEquals("malformed_request", post("/attest/TdxVm", withCollateral).code());

        for (String garbage : List.of("", "{", "[]", "{\"quote\":5}", "{\"quote\":\"!!!\"}", "{\"quote\":\"AAAA\"}")) {
            Fixture.Raw g = Fixture.call("POST", server.url() + "/attest/TdxVm", garbage, null);
            assertTrue(g.status() >= 400 && g.status() < 500, garbage + " -> " + g.status() + " " + g.body());
        }
    }

    @Test
    void collateralUploadNeedsAdminAndRefusesGarbage() throws Exception {
        Fixture.Raw anon = Fixture.call("POST", server.url() + "/admin/collateral/intel", bundle(), null);
        assertEquals(401, anon.status());
        String admin = Files.readString(home.resolve("server/admin-token")).strip();
        Fixture.Raw garbage = Fixture.call("POST", server.url() + "/admin/collateral/intel", "{\"pck_crl\":1}", admin);
        assertEquals(400, garbage.status());
        assertTrue(garbage.body().contains("pck_crl_issuer_chain"), garbage.body());
        JsonNode covers = client.get("/admin/collateral/intel").path("covers");
        assertEquals("TDX/50806f000000", covers.get(0).asText());
        String discovery = Fixture.call("GET", server.url() + "/.well-known/openid-configuration", null, null).body();
        for (String claim : List.of("x-ms-sgx-mrenclave", "x-ms-sgx-mrsigner", "tdx_mrtd", "tdx_rtmr3", "attester_tcb_status")) {
            assertTrue(discovery.contains("\"" + claim + "\""), claim);
        }
    }
}
