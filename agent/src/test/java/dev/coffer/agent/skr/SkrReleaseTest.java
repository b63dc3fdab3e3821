package dev.coffer.agent.skr;

import dev.coffer.agent.tee.SimEvidenceSource;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.vault.KeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.RSAPrivateCrtKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The SKR API against the real attestation service and key vault (in-process, trust-sim, over
 * HTTPS with the server's own certificate and signing keys pinned, as a group's spec pins them):
 * a group launched with HOST_DATA = SHA-256(policy) gets the key its release policy names; a
 * group with another policy is refused by the vault.
 */
class SkrReleaseTest {
    static final String POLICY = "package policy\n\napi_version := \"0.10.0\"\nframework_version := \"0.2.3\"\n";
    static final String OTHER_POLICY = POLICY + "# modified\n";
    static final byte[] MEASUREMENT = new byte[48];
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final byte[] DISK_KEY = HexFormat.of().parseHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    @TempDir
    static Path home;
    static CofferServer server;
    static SkrServer skr;
    static SkrServer refused;
    static SkrServer unendorsed;
    static byte[] endorsement;
    static SimLaunch launch;
    static KeyChannelTrust pinned;

    /** What `coffer server pins` prints for this server, as the agent takes it. */
    static KeyChannelTrust pinsOf(CofferServer s, KeyChannelTrust base) {
        KeyChannelTrust t = base.withTlsCertificate(s.url(), s.pins().tlsCertificate());
        for (String k : s.pins().signingKeys()) t = t.withReleaseKey(s.url(), k);
        return t;
    }

    @BeforeAll
    static void start() throws Exception {
        Arrays.fill(MEASUREMENT, (byte) 0x5a);
        server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        assertTrue(server.url().startsWith("https://"), server.url());
        pinned = pinsOf(server, KeyChannelTrust.STRICT);
        SimulatedSecureProcessor sp = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        launch = sp.launch(MEASUREMENT, HostData.ofPolicy(POLICY));
        String hostData = HexFormat.of().formatHex(HostData.ofPolicy(POLICY));
        JsonNode policy = dev.coffer.server.policy.ReleasePolicies.forCofferGuest(server.issuerName(), hostData, "sim");
        server.vault().importKey("disk-key", JSON.valueToTree(Map.of("kty", "oct", "k",
                Base64.getUrlEncoder().withoutPadding().encodeToString(DISK_KEY))), true, policy, false);
        server.vault().create("rsa-key", KeySpec.rsa(2048), true, policy, false);
        server.vault().create("ec-key", KeySpec.ec("P-384"), true, policy, false);
        server.vault().create("locked", KeySpec.oct256(), false, null, false);
        // the guest's endorsement by the home key (which the server trusts), sent by the agent with its evidence
        endorsement = dev.coffer.attest.endorse.EndorsementKey.openOrCreate(
                dev.coffer.server.AppraisalSettings.homeEndorsementKeyDir(home)).sign(HexFormat.of().formatHex(MEASUREMENT), 1);
        skr = SkrServer.start(new InetSocketAddress("127.0.0.1", 0),
                new SecureKeyRelease(new SimEvidenceSource(launch), pinned).withGuestEndorsement(endorsement));
        refused = SkrServer.start(new InetSocketAddress("127.0.0.1", 0),
                new SecureKeyRelease(new SimEvidenceSource(sp.launch(MEASUREMENT, HostData.ofPolicy(OTHER_POLICY))), pinned)
                        .withGuestEndorsement(endorsement));
        unendorsed = SkrServer.start(new InetSocketAddress("127.0.0.1", 0),
                new SecureKeyRelease(new SimEvidenceSource(sp.launch(Arrays.copyOf(new byte[] {1}, 48), HostData.ofPolicy(POLICY))), pinned));
    }

    @AfterAll
    static void stop() {
        if (skr != null) skr.close();
        if (refused != null) refused.close();
        if (unendorsed != null) unendorsed.close();
        if (server != null) server.close();
    }

    record Answer(int status, JsonNode json) {
        String code() {
            return json.path("code").asText();
        }

        String error() {
            return json.path("error").asText();
        }
    }

    static Answer call(SkrServer s, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url() + path));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        return new Answer(r.statusCode(), JSON.readTree(r.body()));
    }

    static String releaseBody(String kid) throws Exception {
        return JSON.writeValueAsString(Map.of("maa_endpoint", server.url(), "akv_endpoint", server.url(), "kid", kid));
    }

    static ObjectNode releasedJwk(Answer a) throws Exception {
        assertEquals(200, a.status(), a.json().toString());
        // The sidecar answers the JWK as a JSON string, not an object.
        assertTrue(a.json().path("key").isTextual(), a.json().toString());
        return (ObjectNode) JSON.readTree(a.json().path("key").asText());
    }

    @Test
    void statusSaysOkAndTheTee() throws Exception {
        Answer a = call(skr, "GET", "/status", null);
        assertEquals(200, a.status());
        assertEquals("STATUS OK", a.json().path("message").asText());
        assertEquals("sim", a.json().path("tee").asText());
    }

    @Test
    void rawReportBindsTheHashOfRuntimeData() throws Exception {
        byte[] runtime = "hello from the container".getBytes(StandardCharsets.UTF_8);
        Answer a = call(skr, "POST", "/attest/raw", "{\"runtime_data\":\"" + Base64.getEncoder().encodeToString(runtime) + "\"}");
        assertEquals(200, a.status(), a.json().toString());
        SnpReport report = SnpReport.parse(HexFormat.of().parseHex(a.json().path("report").asText()));
        byte[] expected = Arrays.copyOf(java.security.MessageDigest.getInstance("SHA-256").digest(runtime), 64);
        assertArrayEquals(expected, report.reportData());
        assertArrayEquals(HostData.ofPolicy(POLICY), report.hostData());
    }

    @Test
    void maaTokenCarriesRuntimeJsonAndHostData() throws Exception {
        String runtime = "{\"purpose\":\"test\"}";
        Answer a = call(skr, "POST", "/attest/maa", JSON.writeValueAsString(Map.of("maa_endpoint", server.url(),
                "runtime_data", Base64.getEncoder().encodeToString(runtime.getBytes(StandardCharsets.UTF_8)))));
        assertEquals(200, a.status(), a.json().toString());
        String[] parts = a.json().path("token").asText().split("\\.");
        JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
        assertEquals("test", claims.path("x-ms-runtime").path("purpose").asText());
        assertEquals(HexFormat.of().formatHex(HostData.ofPolicy(POLICY)), claims.path("x-ms-sevsnpvm-hostdata").asText());
        assertEquals("sim", claims.path("x-coffer-tee").asText());
        // the endorsement the agent sent with its evidence made the MEASUREMENT a trusted guest's
        assertEquals("coffer-compliant-guest", claims.path("x-ms-compliance-status").asText());
        assertEquals("coffer-sim-sevsnpvm", claims.path("x-ms-attestation-type").asText());
    }

    @Test
    void aGuestWithoutAnEndorsementGetsNoTokenAndNoKey() throws Exception {
        Answer token = call(unendorsed, "POST", "/attest/maa", JSON.writeValueAsString(Map.of("maa_endpoint", server.url(),
                "runtime_data", Base64.getEncoder().encodeToString("{}".getBytes(StandardCharsets.UTF_8)))));
        assertEquals(403, token.status(), token.json().toString());
        assertEquals("measurement_not_endorsed", token.code());
        Answer key = call(unendorsed, "POST", "/key/release", releaseBody("disk-key"));
        assertEquals(403, key.status(), key.json().toString());
        assertEquals("measurement_not_endorsed", key.code());
        assertFalse(key.json().has("key"));
    }

    @Test
    void anEndorsedEvidenceSourceCarriesItsEndorsementToEveryRelease() throws Exception {
        // as the agent wires it: the launch's endorsement rides on its TEE, so the encrypted volumes'
        // releases (which build their own SecureKeyRelease) send it too
        EvidenceSource endorsedTee = EvidenceSource.endorsed(new SimEvidenceSource(launch), endorsement);
        ObjectNode jwk = new SecureKeyRelease(endorsedTee, pinned).releaseKey(server.url(), server.url(), "disk-key");
        assertArrayEquals(DISK_KEY, Base64.getUrlDecoder().decode(jwk.path("k").asText()));
        assertNull(EvidenceSource.endorsed(new SimEvidenceSource(launch), null).guestEndorsement());
    }

    @Test
    void theEndorsementTravelsInAzuresField() throws Exception {
        byte[] cose = {(byte) 0xd2, 1, 2, 3};
        SecureKeyRelease s = new SecureKeyRelease(new SimEvidenceSource(launch), pinned).withGuestEndorsement(cose);
        JsonNode inner = JSON.readTree(s.maaReport(new Evidence(new byte[] {9}, "PEM")));
        JsonNode endorsements = JSON.readTree(Base64.getUrlDecoder().decode(inner.path("Endorsements").asText()));
        assertArrayEquals(cose, Base64.getUrlDecoder().decode(endorsements.path("Uvm").get(0).asText()));
        assertFalse(JSON.readTree(new SecureKeyRelease(new SimEvidenceSource(launch), pinned).maaReport(new Evidence(new byte[] {9}, "PEM")))
                .has("Endorsements"), "no endorsement, no field");
    }

    @Test
    void octKeyIsReleasedToTheGroupWhosePolicyMatches() throws Exception {
        ObjectNode jwk = releasedJwk(call(skr, "POST", "/key/release", releaseBody("disk-key")));
        assertEquals("oct", jwk.path("kty").asText());
        assertArrayEquals(DISK_KEY, Base64.getUrlDecoder().decode(jwk.path("k").asText()));
        assertTrue(jwk.path("kid").asText().endsWith("/keys/disk-key/" + server.vault().get("disk-key", null).version()), jwk.path("kid").asText());
        assertTrue(server.vault().audit("disk-key", 10).stream().anyMatch(e -> e.toString().contains("released")));
    }

    @Test
    void bothWrappingsUnwrap() throws Exception {
        for (String enc : List.of("CKM_RSA_AES_KEY_WRAP", "RSA_AES_KEY_WRAP_256")) {
            SecureKeyRelease s = new SecureKeyRelease(new SimEvidenceSource(launch), enc, java.time.Duration.ofSeconds(10), pinned)
                    .withGuestEndorsement(endorsement);
            ObjectNode jwk = s.releaseKey(server.url(), server.url(), "disk-key");
            assertArrayEquals(DISK_KEY, Base64.getUrlDecoder().decode(jwk.path("k").asText()), enc);
        }
    }

    @Test
    void rsaAndEcKeysComeBackAsUsablePrivateJwks() throws Exception {
        ObjectNode rsa = releasedJwk(call(skr, "POST", "/key/release", releaseBody("rsa-key")));
        assertEquals("RSA", rsa.path("kty").asText());
        JsonNode pub = JSON.valueToTree(server.vault().get("rsa-key", null).toJson()).path("public_jwk");
        if (pub.isTextual()) pub = JSON.readTree(pub.asText());
        assertEquals(pub.path("n").asText(), rsa.path("n").asText());
        var rsaPriv = KeyFactory.getInstance("RSA").generatePrivate(new RSAPrivateCrtKeySpec(u(rsa, "n"), u(rsa, "e"), u(rsa, "d"),
                u(rsa, "p"), u(rsa, "q"), u(rsa, "dp"), u(rsa, "dq"), u(rsa, "qi")));
        Signature rs = Signature.getInstance("SHA256withRSA");
        rs.initSign(rsaPriv);
        rs.update(new byte[] {1, 2, 3});
        Signature rv = Signature.getInstance("SHA256withRSA");
        rv.initVerify(dev.coffer.channel.Jwk.publicKey(pub));
        rv.update(new byte[] {1, 2, 3});
        assertTrue(rv.verify(rs.sign()), "released RSA private key matches the vault's public key");

        ObjectNode ec = releasedJwk(call(skr, "POST", "/key/release", releaseBody("ec-key")));
        assertEquals("EC", ec.path("kty").asText());
        assertEquals("P-384", ec.path("crv").asText());
        assertEquals(48, Base64.getUrlDecoder().decode(ec.path("d").asText()).length);
        JsonNode ecVault = JSON.valueToTree(server.vault().get("ec-key", null).toJson()).path("public_jwk");
        if (ecVault.isTextual()) ecVault = JSON.readTree(ecVault.asText());
        assertEquals(ecVault.path("x").asText(), ec.path("x").asText(), "public point derived from d matches the vault's");
        assertEquals(ecVault.path("y").asText(), ec.path("y").asText());
        ECPublicKey ecPub = (ECPublicKey) dev.coffer.channel.Jwk.publicKey(ec);
        var ecPriv = KeyFactory.getInstance("EC").generatePrivate(new ECPrivateKeySpec(u(ec, "d"), ecPub.getParams()));
        Signature es = Signature.getInstance("SHA384withECDSA");
        es.initSign(ecPriv);
        es.update(new byte[] {4, 5});
        Signature ev = Signature.getInstance("SHA384withECDSA");
        ev.initVerify(ecPub);
        ev.update(new byte[] {4, 5});
        assertTrue(ev.verify(es.sign()), "released EC private key matches its public point");
    }

    private static BigInteger u(JsonNode jwk, String f) {
        return new BigInteger(1, Base64.getUrlDecoder().decode(jwk.path(f).asText()));
    }

    @Test
    void groupWithAnotherPolicyIsRefusedWithTheVaultsError() throws Exception {
        Answer a = call(refused, "POST", "/key/release", releaseBody("disk-key"));
        assertEquals(403, a.status(), a.json().toString());
        assertEquals("release_denied", a.code());
        assertTrue(a.error().contains("x-ms-sevsnpvm-hostdata"), a.error());
        assertFalse(a.json().has("key"));
    }

    @Test
    void vaultRefusalsKeepTheirCodes() throws Exception {
        assertEquals("key_not_found", call(skr, "POST", "/key/release", releaseBody("no-such-key")).code());
        assertEquals("key_not_exportable", call(skr, "POST", "/key/release", releaseBody("locked")).code());
    }

    @Test
    void malformedRequestsGetPreciseErrors() throws Exception {
        Answer notJson = call(skr, "POST", "/key/release", "{nope");
        assertEquals(400, notJson.status());
        assertEquals("malformed_request", notJson.code());
        assertTrue(notJson.error().contains("not JSON"), notJson.error());

        Answer array = call(skr, "POST", "/attest/raw", "[1]");
        assertEquals("malformed_request", array.code());
        assertTrue(array.error().contains("JSON object"), array.error());

        Answer missing = call(skr, "POST", "/key/release", "{\"maa_endpoint\":\"" + server.url() + "\"}");
        assertEquals(400, missing.status());
        assertTrue(missing.error().contains("'akv_endpoint' is required"), missing.error());

        Answer wrongType = call(skr, "POST", "/attest/raw", "{\"runtime_data\":5}");
        assertTrue(wrongType.error().contains("'runtime_data' must be a string"), wrongType.error());

        Answer badB64 = call(skr, "POST", "/attest/raw", "{\"runtime_data\":\"***\"}");
        assertEquals("malformed_request", badB64.code());
        assertTrue(badB64.error().contains("not base64"), badB64.error());

        Answer badKid = call(skr, "POST", "/key/release", releaseBody("../admin"));
        assertEquals(400, badKid.status());
        assertTrue(badKid.error().contains("'kid'"), badKid.error());

        Answer badScheme = call(skr, "POST", "/key/release", JSON.writeValueAsString(Map.of("maa_endpoint", "file:///etc/passwd",
                "akv_endpoint", server.url(), "kid", "disk-key")));
        assertEquals("endpoint_invalid", badScheme.code());

        assertEquals(404, call(skr, "GET", "/nope", null).status());
        assertEquals("not_found", call(skr, "GET", "/nope", null).code());
        Answer method = call(skr, "GET", "/key/release", null);
        assertEquals(405, method.status());
        assertEquals("method_not_allowed", method.code());
    }

    @Test
    void oversizedBodiesAreRefused() throws Exception {
        String big = "{\"runtime_data\":\"" + "A".repeat(SkrServer.MAX_BODY_BYTES) + "\"}";
        Answer a = call(skr, "POST", "/attest/raw", big);
        assertEquals(413, a.status());
        assertEquals("body_too_large", a.code());
    }

    @Test
    void endpointsOutsideTheAllowListAreRefusedBeforeAnyCall() throws Exception {
        SecureKeyRelease allowed = new SecureKeyRelease(new SimEvidenceSource(launch), "CKM_RSA_AES_KEY_WRAP",
                java.time.Duration.ofSeconds(10), List.of(SecureKeyRelease.endpointOrigin(server.url())), pinned).withGuestEndorsement(endorsement);
        // the allowed origin, written with a trailing slash, still matches
        ObjectNode jwk = allowed.releaseKey(server.url() + "/", server.url(), "disk-key");
        assertArrayEquals(DISK_KEY, Base64.getUrlDecoder().decode(jwk.path("k").asText()));
        int auditBefore = server.vault().audit("disk-key", 1000).size();
        String other = "https://127.0.0.2:" + java.net.URI.create(server.url()).getPort();
        for (String[] pair : List.of(new String[] {other, server.url()}, new String[] {server.url(), other},
                new String[] {"https://localhost:" + java.net.URI.create(server.url()).getPort(), server.url()})) {
            SkrException e = assertThrows(SkrException.class, () -> allowed.releaseKey(pair[0], pair[1], "disk-key"));
            assertEquals(403, e.status());
            assertEquals("endpoint_not_allowed", e.code());
            assertTrue(e.getMessage().contains("expected one of " + SecureKeyRelease.endpointOrigin(server.url())), e.getMessage());
        }
        assertThrows(SkrException.class, () -> allowed.maaToken(other, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        // refused before the vault was asked: no new audit entry
        assertEquals(auditBefore, server.vault().audit("disk-key", 1000).size());
        assertThrows(IllegalArgumentException.class, () -> SecureKeyRelease.endpointOrigin("ftp://x"));
    }

    @Test
    void unreachableServiceIsABadGatewayNamingTheUrl() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String dead = "https://127.0.0.1:" + port;
        Answer a = call(skr, "POST", "/key/release", JSON.writeValueAsString(Map.of("maa_endpoint", dead, "akv_endpoint", server.url(),
                "kid", "disk-key")));
        assertEquals(502, a.status());
        assertEquals("upstream_unreachable", a.code());
        assertTrue(a.error().contains(dead), a.error());
    }

    @Test
    void evidenceSourceFailureIsReported() throws Exception {
        EvidenceSource broken = new EvidenceSource() {
            @Override
            public Evidence evidence(byte[] reportData) {
                throw new IllegalStateException("/dev/sev-guest is not present");
            }

            @Override
            public String tee() {
                return "snp";
            }
        };
        try (SkrServer s = SkrServer.start(new InetSocketAddress("127.0.0.1", 0), new SecureKeyRelease(broken, KeyChannelTrust.STRICT))) {
            Answer a = call(s, "POST", "/attest/raw", "{\"runtime_data\":\"AAAA\"}");
            assertEquals(500, a.status());
            assertEquals("evidence_unavailable", a.code());
            assertTrue(a.error().contains("/dev/sev-guest"), a.error());
        }
    }
}
