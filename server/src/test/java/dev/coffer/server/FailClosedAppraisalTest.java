package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.snp.Product;
import dev.coffer.attest.snp.TcbLayout;
import dev.coffer.attest.snp.TcbVersion;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.client.MaaRequest;
import dev.coffer.server.client.ReleasedKey;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.ReleasePolicies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The attack of issue 11, end to end over HTTP on the simulated TEE: a host boots its own guest
 * with a victim group's HOST_DATA. The service must refuse it a token (its MEASUREMENT is not
 * endorsed) and the vault must refuse it the key; the genuine, endorsed guest gets both. Then the
 * ways a MEASUREMENT can be endorsed (presented, registered, extra trusted endorsers, SVN floor),
 * platform appraisal (minimum TCB, CRLs), admin token revocation, and bad input at every new
 * endpoint and field.
 */
class FailClosedAppraisalTest {
    static final byte[] GENUINE = Fixture.bytes(48, 0x41);
    static final byte[] HOSTILE = Fixture.bytes(48, 0x66);
    static final byte[] VICTIM_HOST_DATA = Fixture.bytes(32, 0x42);

    @TempDir
    Path home;

    private static CofferServer start(ServerConfig config) {
        return CofferServer.startPlainHttpOnLoopback(config.withPort(0).withTrustSim(true));
    }

    private String admin() throws Exception {
        return Files.readString(home.resolve("server/admin-token")).strip();
    }

    private static Fixture.Raw attest(CofferServer s, Map<String, Object> body) throws Exception {
        return Fixture.call("POST", s.url() + "/attest/SevSnpVm", Json.string(body), null);
    }

    private static Fixture.Raw attestRaw(CofferServer s, String body) throws Exception {
        return Fixture.call("POST", s.url() + "/attest/SevSnpVm", body, null);
    }

    @Test
    void aHostMadeGuestWithTheVictimsHostDataGetsNoTokenAndNoKey(@TempDir Path devHome) throws Exception {
        try (CofferServer server = start(ServerConfig.defaults(home))) {
            CofferClient admin = new CofferClient(server.url(), admin());
            admin.post("/keys/victim-key/create", Map.of("kty", "oct", "exportable", true,
                    "release_policy", ReleasePolicies.forCofferGuest(server.issuerName(), Fixture.hex(VICTIM_HOST_DATA), "sim")));

            // the host boots a guest of its own (another MEASUREMENT) with the victim's HOST_DATA
            Fixture.Guest hostile = new Fixture.Guest(home, HOSTILE, VICTIM_HOST_DATA, 0x30000L);
            Fixture.Raw bare = attest(server, hostile.unendorsedBody());
            assertEquals(403, bare.status(), bare.body());
            assertEquals("measurement_not_endorsed", bare.code());
            String msg = bare.json().path("error").path("message").asText();
            assertTrue(msg.contains(Fixture.hex(HOSTILE)), "names the measurement: " + msg);
            assertTrue(msg.contains("coffer server endorsement add") && msg.contains("--accept-any-measurement"), "says what to do: " + msg);

            // replaying the genuine guest's endorsement does not help: it endorses another MEASUREMENT
            Fixture.Guest genuine = new Fixture.Guest(home, GENUINE, VICTIM_HOST_DATA, 0x30000L);
            Fixture.Raw replayed = attest(server, MaaRequest.body(hostile.report(), hostile.chainPem(), genuine.endorsements(),
                    hostile.runtimeJson, null));
            assertEquals("measurement_not_endorsed", replayed.code(), replayed.body());
            assertTrue(replayed.body().contains("measurement"), replayed.body());

            // nor does an endorsement the host signs itself: its issuer is not trusted
            byte[] selfSigned = EndorsementKey.openOrCreate(devHome.resolve("rogue")).sign(Fixture.hex(HOSTILE), 9);
            Fixture.Raw rogue = attest(server, MaaRequest.body(hostile.report(), hostile.chainPem(), List.of(selfSigned),
                    hostile.runtimeJson, null));
            assertEquals("measurement_not_endorsed", rogue.code(), rogue.body());
            assertTrue(rogue.body().contains("issuer_feed"), rogue.body());

            // the genuine, endorsed guest gets a token with the compliance claim, and the key
            String token = admin.attest(genuine.maaBody());
            var claims = SignedJWT.parse(token).getJWTClaimsSet();
            assertEquals("coffer-compliant-guest", claims.getStringClaim("x-ms-compliance-status"));
            assertEquals("coffer-sim-sevsnpvm", claims.getStringClaim("x-ms-attestation-type"));
            String jws = new CofferClient(server.url(), null).release("victim-key", null, token, null);
            assertEquals(32, ReleasedKey.open(jws, genuine.runtimeKey.toRSAPrivateKey()).material().length);

            // audit: the only release is the genuine one
            JsonNode audit = admin.get("/audit?key=victim-key").path("entries");
            assertEquals(1, audit.size(), audit.toString());
            assertEquals("released", audit.get(0).path("verdict").asText());
        }

        // A development server that accepts any measurement issues the hostile guest a token, which
        // says so, and the ready-made release policy still refuses it the key.
        try (CofferServer dev = start(ServerConfig.defaults(devHome).withAppraisalSettings(
                AppraisalSettings.defaults().withAcceptAnyMeasurement(true)))) {
            CofferClient admin = new CofferClient(dev.url(), Files.readString(devHome.resolve("server/admin-token")).strip());
            admin.post("/keys/victim-key/create", Map.of("kty", "oct", "exportable", true,
                    "release_policy", ReleasePolicies.forCofferGuest(dev.issuerName(), Fixture.hex(VICTIM_HOST_DATA), "sim")));
            Fixture.Guest hostile = new Fixture.Guest(devHome, HOSTILE, VICTIM_HOST_DATA, 0x30000L);
            String token = admin.attest(hostile.unendorsedBody());
            var claims = SignedJWT.parse(token).getJWTClaimsSet();
            assertEquals(Boolean.TRUE, claims.getBooleanClaim("x-coffer-measurement-unchecked"));
            assertEquals("unchecked", claims.getStringClaim("x-coffer-measurement-source"));
            assertNull(claims.getClaim("x-ms-compliance-status"));
            Fixture.Raw release = Fixture.call("POST", dev.url() + "/keys/victim-key/release",
                    Json.string(Map.of("target", token)), null);
            assertEquals(403, release.status(), release.body());
            assertEquals("release_denied", release.code());
            assertTrue(release.body().contains("x-ms-compliance-status"), release.body());
        }
    }

    @Test
    void registeredEndorsementsCountUntilRemoved() throws Exception {
        try (CofferServer server = start(ServerConfig.defaults(home))) {
            String admin = admin();
            Fixture.Guest guest = new Fixture.Guest(home, GENUINE, VICTIM_HOST_DATA, 0x30000L);
            assertEquals("measurement_not_endorsed", attest(server, guest.unendorsedBody()).code());

            String b64 = Base64.getUrlEncoder().withoutPadding().encodeToString(guest.endorsement);
            Fixture.Raw added = Fixture.call("POST", server.url() + "/admin/endorsements", Json.string(Map.of("endorsement", b64)), admin);
            assertEquals(201, added.status(), added.body());
            assertEquals(Fixture.hex(GENUINE), added.json().path("measurement").asText());
            assertTrue(added.json().path("verifies").asBoolean(), added.body());
            String digest = added.json().path("digest").asText();
            assertEquals(200, Fixture.call("POST", server.url() + "/admin/endorsements", Json.string(Map.of("endorsement", b64)), admin).status(),
                    "registering the same endorsement again is idempotent");

            // now the guest needs to present nothing
            Fixture.Raw token = attest(server, guest.unendorsedBody());
            assertEquals(200, token.status(), token.body());
            var claims = SignedJWT.parse(token.json().path("token").asText()).getJWTClaimsSet();
            assertEquals("coffer-compliant-guest", claims.getStringClaim("x-ms-compliance-status"));
            assertEquals("1", claims.getStringClaim("x-coffer-endorsement-svn"));

            JsonNode list = Fixture.call("GET", server.url() + "/admin/endorsements", null, admin).json();
            assertEquals(1, list.path("endorsements").size());
            assertEquals(digest, list.path("endorsements").get(0).path("digest").asText());
            assertTrue(list.path("trusted_endorsers").toString().contains("coffer-guest"), list.toString());

            // an endorsement by an untrusted key is stored with a warning, and endorses nothing
            byte[] untrusted = EndorsementKey.openOrCreate(home.resolve("other-endorser")).sign(Fixture.hex(HOSTILE), 1);
            Fixture.Raw warned = Fixture.call("POST", server.url() + "/admin/endorsements",
                    Json.string(Map.of("endorsement", Base64.getUrlEncoder().encodeToString(untrusted))), admin);
            assertEquals(201, warned.status(), warned.body());
            assertFalse(warned.json().path("verifies").asBoolean());
            assertTrue(warned.json().path("warning").asText().contains("--trust-endorser"), warned.body());
            Fixture.Guest hostile = new Fixture.Guest(home, HOSTILE, VICTIM_HOST_DATA, 0x30000L);
            assertEquals("measurement_not_endorsed", attest(server, hostile.unendorsedBody()).code());

            assertEquals(200, Fixture.call("DELETE", server.url() + "/admin/endorsements/" + digest, null, admin).status());
            assertEquals("not_found", Fixture.call("DELETE", server.url() + "/admin/endorsements/" + digest, null, admin).code());
            assertEquals("measurement_not_endorsed", attest(server, guest.unendorsedBody()).code());
            // admin endpoints need the admin token
            assertEquals("unauthenticated", Fixture.call("GET", server.url() + "/admin/endorsements", null, null).code());
        }
    }

    @Test
    void extraTrustedEndorsersAndTheirMinimumSvn() throws Exception {
        EndorsementKey org = EndorsementKey.openOrCreate(home.resolve("org-release-ca"));
        byte[] svn3 = org.sign(Fixture.hex(GENUINE), 3);
        Fixture.Guest guest = new Fixture.Guest(home, GENUINE, VICTIM_HOST_DATA, 0x30000L);
        Map<String, Object> body = MaaRequest.body(guest.report(), guest.chainPem(), List.of(svn3), guest.runtimeJson, null);
        try (CofferServer server = start(ServerConfig.defaults(home))) {
            assertEquals("measurement_not_endorsed", attest(server, body).code(), "not trusted by default");
        }
        var trusting = AppraisalSettings.defaults().withEndorser(
                dev.coffer.attest.endorse.TrustedEndorser.parse(org.did() + "," + org.feed() + ",2"));
        try (CofferServer server = start(ServerConfig.defaults(home).withAppraisalSettings(trusting))) {
            Fixture.Raw ok = attest(server, body);
            assertEquals(200, ok.status(), ok.body());
            assertEquals(org.did(), SignedJWT.parse(ok.json().path("token").asText()).getJWTClaimsSet()
                    .getStringClaim("x-coffer-endorsement-issuer"));
        }
        var strict = AppraisalSettings.defaults().withEndorser(
                dev.coffer.attest.endorse.TrustedEndorser.parse(org.did() + "," + org.feed() + ",4"));
        try (CofferServer server = start(ServerConfig.defaults(home).withAppraisalSettings(strict))) {
            Fixture.Raw low = attest(server, body);
            assertEquals("measurement_not_endorsed", low.code(), low.body());
            assertTrue(low.body().contains("guest_svn"), low.body());
        }
    }

    @Test
    void aRevokedVcekIsRefused() throws Exception {
        RevocableSimChip chip = RevocableSimChip.create(home);
        Path crl = home.resolve("sim-ark.crl");
        Files.write(crl, chip.arkCrl());
        Fixture.Guest guest = new Fixture.Guest(home, GENUINE, VICTIM_HOST_DATA, 0x30000L);
        try (CofferServer server = start(ServerConfig.defaults(home).withAppraisalSettings(
                AppraisalSettings.defaults().withCrlFile(crl)))) {
            assertEquals(200, attest(server, guest.maaBody()).status(), "a CRL that does not list the chain changes nothing");
        }
        // PEM works as well as DER
        Files.writeString(crl, "-----BEGIN X509 CRL-----\n" + Base64.getMimeEncoder().encodeToString(chip.askCrl(chip.chip.vcek()))
                + "\n-----END X509 CRL-----\n");
        try (CofferServer server = start(ServerConfig.defaults(home).withAppraisalSettings(
                AppraisalSettings.defaults().withCrlFile(crl)))) {
            Fixture.Raw r = attest(server, guest.maaBody());
            assertEquals(403, r.status(), r.body());
            assertEquals("certificate_revoked", r.code());
            assertTrue(r.body().contains("revoked"), r.body());
        }
        Files.write(crl, chip.arkCrl(chip.chip.ask()));
        try (CofferServer server = start(ServerConfig.defaults(home).withAppraisalSettings(
                AppraisalSettings.defaults().withCrlFile(crl)))) {
            assertEquals("certificate_revoked", attest(server, guest.maaBody()).code(), "a revoked ASK too");
        }
        // a file that is not a CRL stops the start, with the file named
        Files.writeString(crl, "not a crl");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> start(ServerConfig.defaults(home)
                .withAppraisalSettings(AppraisalSettings.defaults().withCrlFile(crl))));
        assertTrue(bad.getMessage().contains(crl.toString()), bad.getMessage());
    }

    @Test
    void aTcbBelowTheProductsMinimumIsRefusedNamingTheComponent() throws Exception {
        Fixture.Guest guest = new Fixture.Guest(home, GENUINE, VICTIM_HOST_DATA, 0x30000L);
        TcbVersion sim = dev.coffer.attest.sim.SimulatedSecureProcessor.TCB;
        TcbVersion above = TcbVersion.of(TcbLayout.MILAN_GENOA, -1, sim.bootloader(), sim.tee(), sim.snp() + 1, sim.microcode());
        try (CofferServer server = start(ServerConfig.defaults(home).withAppraisalSettings(
                AppraisalSettings.defaults().withMinimumTcb(Product.MILAN, above)))) {
            Fixture.Raw r = attest(server, guest.maaBody());
            assertEquals(403, r.status(), r.body());
            assertEquals("tcb_below_minimum", r.code());
            assertTrue(r.body().contains("snp " + sim.snp() + " < " + (sim.snp() + 1)), r.body());
            assertTrue(r.body().contains("Milan"), r.body());
        }
        var minimum = AppraisalSettings.parseMinimumTcb("Milan:bl=" + sim.bootloader() + ",tee=" + sim.tee() + ",snp=" + sim.snp()
                + ",ucode=" + sim.microcode());
        try (CofferServer server = start(ServerConfig.defaults(home).withAppraisalSettings(
                AppraisalSettings.defaults().withMinimumTcb(minimum.getKey(), minimum.getValue())
                        .withMinimumTcb(Product.GENOA, above)))) {
            assertEquals(200, attest(server, guest.maaBody()).status(), "at the minimum is enough; Genoa's minimum is not Milan's");
        }
        for (String bad : List.of("Milan", "Rome:bl=1", "Milan:bl=300", "Milan:xyz=1", ":bl=1")) {
            assertThrows(IllegalArgumentException.class, () -> AppraisalSettings.parseMinimumTcb(bad), bad);
        }
    }

    @Test
    void revokedAdminTokensAreRefusedAtOnce() throws Exception {
        try (CofferServer server = start(ServerConfig.defaults(home))) {
            String first = admin();
            Fixture.Raw created = Fixture.call("POST", server.url() + "/admin/tokens", Json.string(Map.of("label", "ci")), first);
            assertEquals(201, created.status(), created.body());
            String second = created.json().path("token").asText();
            String id = created.json().path("id").asText();
            assertEquals(200, Fixture.call("GET", server.url() + "/keys", null, second).status());
            JsonNode list = Fixture.call("GET", server.url() + "/admin/tokens", null, second).json();
            assertEquals(2, list.path("tokens").size());
            assertFalse(list.toString().contains(second), "tokens are never listed");

            assertEquals(200, Fixture.call("DELETE", server.url() + "/admin/tokens/" + id, null, first).status());
            Fixture.Raw refused = Fixture.call("GET", server.url() + "/keys", null, second);
            assertEquals(401, refused.status());
            assertEquals("unauthenticated", refused.code());
            assertTrue(refused.body().contains("revoked"), refused.body());

            String firstId = Fixture.call("GET", server.url() + "/admin/tokens", null, first).json().path("tokens").get(0).path("id").asText();
            Fixture.Raw last = Fixture.call("DELETE", server.url() + "/admin/tokens/" + firstId, null, first);
            assertEquals(409, last.status(), last.body());
            assertEquals("last_admin_token", last.code());
            assertEquals(200, Fixture.call("GET", server.url() + "/keys", null, first).status(), "the last token still works");

            assertEquals("not_found", Fixture.call("DELETE", server.url() + "/admin/tokens/" + id, null, first).code());
            assertEquals("malformed_request", Fixture.call("DELETE", server.url() + "/admin/tokens/XYZ", null, first).code());
            for (String body : List.of("{}", "{\"label\":\"\"}", "{\"label\":5}", "{\"label\":\"" + "x".repeat(200) + "\"}", "[", "{\"label\":\"a\\u0000b\"}")) {
                Fixture.Raw r = Fixture.call("POST", server.url() + "/admin/tokens", body, first);
                assertEquals(400, r.status(), body + " -> " + r.body());
            }
            assertEquals("unauthenticated", Fixture.call("POST", server.url() + "/admin/tokens", "{\"label\":\"x\"}", null).code());
        }
    }

    @Test
    void releasePoliciesPinningHostDataAloneGetAWarning() throws Exception {
        try (CofferServer server = start(ServerConfig.defaults(home))) {
            CofferClient admin = new CofferClient(server.url(), admin());
            JsonNode weak = admin.post("/keys/weak/create", Map.of("kty", "oct", "exportable", true, "release_policy",
                    Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", server.issuerName(), "allOf", List.of(
                            Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", Fixture.hex(VICTIM_HOST_DATA))))))));
            assertTrue(weak.path("warnings").get(0).asText().contains("x-ms-compliance-status"), weak.toString());
            JsonNode strong = admin.post("/keys/strong/create", Map.of("kty", "oct", "exportable", true, "release_policy",
                    ReleasePolicies.forCofferGuest(server.issuerName(), Fixture.hex(VICTIM_HOST_DATA), "sim")));
            assertFalse(strong.has("warnings"), strong.toString());
            JsonNode pinned = admin.put("/keys/strong/policy", Map.of("release_policy", Map.of("version", "1.0.0", "anyOf", List.of(
                    Map.of("authority", server.issuerName(), "allOf", List.of(
                            Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", Fixture.hex(VICTIM_HOST_DATA)),
                            Map.of("claim", "x-ms-sevsnpvm-launchmeasurement", "equals", Fixture.hex(GENUINE))))))));
            assertFalse(pinned.has("warnings"), "a pinned measurement is as good: " + pinned);
            JsonNode anyOf = admin.put("/keys/strong/policy", Map.of("release_policy", Map.of("version", "1.0.0", "anyOf", List.of(
                    Map.of("authority", server.issuerName(), "anyOf", List.of(
                            Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", Fixture.hex(VICTIM_HOST_DATA)),
                            Map.of("claim", "x-ms-compliance-status", "equals", "coffer-compliant-guest")))))));
            assertTrue(anyOf.has("warnings"), "an anyOf branch with host data alone is still weak: " + anyOf);
        }
    }

    @Test
    void badEndorsementInputGets4xxNeverA500() throws Exception {
        try (CofferServer server = start(ServerConfig.defaults(home))) {
            String admin = admin();
            Fixture.Guest guest = new Fixture.Guest(home, GENUINE, VICTIM_HOST_DATA, 0x30000L);
            byte[] valid = guest.endorsement;
            List<byte[]> hostile = List.of(
                    "garbage, not CBOR".getBytes(StandardCharsets.US_ASCII),
                    new byte[] {(byte) 0xd2},                                     // tag 18 and nothing else
                    Arrays.copyOf(valid, valid.length / 2),                        // truncated COSE
                    Arrays.copyOf(valid, valid.length - 1),
                    coseWithChain(9, 200),                                         // too many certificates
                    coseWithChain(1, 20_000),                                      // one huge certificate
                    new byte[GENUINE.length]);                                     // zeros
            for (byte[] cose : hostile) {
                Fixture.Raw inRequest = attest(server, MaaRequest.body(guest.report(), guest.chainPem(), List.of(cose), guest.runtimeJson, null));
                assertEquals(400, inRequest.status(), inRequest.body());
                assertEquals("endorsement_invalid", inRequest.code(), inRequest.body());
                assertTrue(inRequest.body().contains("Uvm[0]"), inRequest.body());
                Fixture.Raw registered = Fixture.call("POST", server.url() + "/admin/endorsements",
                        Json.string(Map.of("endorsement", Base64.getUrlEncoder().encodeToString(cose))), admin);
                assertEquals(400, registered.status(), registered.body());
                assertEquals("endorsement_invalid", registered.code(), registered.body());
            }
            byte[] huge = new byte[70_000];
            Fixture.Raw tooBig = attest(server, MaaRequest.body(guest.report(), guest.chainPem(), List.of(huge), guest.runtimeJson, null));
            assertEquals("endorsement_invalid", tooBig.code(), tooBig.body());
            assertTrue(tooBig.body().contains("65536"), tooBig.body());

            // wrong shapes of Azure's Endorsements field
            Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
            List<String> fields = new ArrayList<>(List.of("!!!not base64!!!", b64.encodeToString("not json".getBytes()),
                    b64.encodeToString("[]".getBytes()), b64.encodeToString("{}".getBytes()), b64.encodeToString("{\"Uvm\":\"x\"}".getBytes()),
                    b64.encodeToString("{\"Uvm\":[5]}".getBytes()), b64.encodeToString("{\"Uvm\":[\"!!\"]}".getBytes())));
            List<byte[]> nine = new ArrayList<>();
            for (int i = 0; i < 9; i++) nine.add(valid);
            fields.add(b64.encodeToString(MaaRequest.endorsementsJson(nine)));
            for (String field : fields) {
                String inner = "{\"SnpReport\":\"" + b64.encodeToString(guest.report()) + "\",\"VcekCertChain\":\""
                        + b64.encodeToString(guest.chainPem().getBytes(StandardCharsets.UTF_8)) + "\",\"Endorsements\":" + Json.string(field) + "}";
                Fixture.Raw r = attestRaw(server, Json.string(Map.of("report", b64.encodeToString(inner.getBytes(StandardCharsets.UTF_8)))));
                assertEquals(400, r.status(), field + " -> " + r.body());
                assertTrue(r.code().equals("endorsement_invalid") || r.code().equals("malformed_request"), r.body());
            }
            String numeric = "{\"SnpReport\":\"" + b64.encodeToString(guest.report()) + "\",\"Endorsements\":5}";
            assertEquals(400, attestRaw(server, Json.string(Map.of("report", b64.encodeToString(numeric.getBytes())))).status());

            // the admin endpoint's own shapes
            for (String body : List.of("{}", "{\"endorsement\":5}", "{\"endorsement\":\"!!\"}", "[]", "not json")) {
                Fixture.Raw r = Fixture.call("POST", server.url() + "/admin/endorsements", body, admin);
                assertTrue(r.status() >= 400 && r.status() < 500, body + " -> " + r.status() + " " + r.body());
            }
            assertEquals("malformed_request", Fixture.call("DELETE", server.url() + "/admin/endorsements/xyz", null, admin).code());
            // nothing was stored by any of it
            assertEquals(0, Fixture.call("GET", server.url() + "/admin/endorsements", null, admin).json().path("endorsements").size());
        }
    }

    @Test
    void configFilesAndFlagsRefuseBadAppraisalSettings() throws Exception {
        Path file = home.resolve("server.yaml");
        for (String yaml : List.of("trustEndorsers: [\"not-a-did\"]", "trustEndorsers: \"did:x509:0:sha256:x::eku:1\"",
                "minimumTcb: [\"Milan:bl=999\"]", "acceptAnyMeasurement: yes please", "trustEndorsers: [5]",
                "trustEndorsers: [\"did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.2,feed,-1\"]")) {
            Files.writeString(file, yaml);
            java.io.IOException e = assertThrows(java.io.IOException.class, () -> ServerConfig.load(file, home), yaml);
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        }
        Files.writeString(file, """
                acceptAnyMeasurement: true
                trustHomeEndorser: false
                trustEndorsers: ["did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.2,feed,7"]
                minimumTcb: ["Genoa:bl=1,tee=0,snp=2,ucode=3"]
                crlFiles: [genoa.crl]
                """);
        AppraisalSettings a = ServerConfig.load(file, home).appraisalSettings();
        assertTrue(a.acceptAnyMeasurement());
        assertFalse(a.trustHomeEndorser());
        assertEquals(7, a.endorsers().getLast().minimumGuestSvn());
        assertEquals(2, a.minimumTcb().get(Product.GENOA).snp());
        assertEquals(home.resolve("genoa.crl"), a.crlFiles().getFirst());
    }

    // --- a minimal CBOR writer, for COSE documents no honest signer would make ----------------

    /** COSE_Sign1 (tag 18) whose protected x5chain holds {@code count} certificates of {@code size} junk bytes. */
    static byte[] coseWithChain(int count, int size) {
        ByteArrayOutputStream chain = new ByteArrayOutputStream();
        head(chain, 4, count);
        for (int i = 0; i < count; i++) bstr(chain, new byte[size]);
        ByteArrayOutputStream prot = new ByteArrayOutputStream();
        head(prot, 5, 3);
        head(prot, 0, 1);
        head(prot, 1, 34);                           // alg: -35 (ES384)
        head(prot, 0, 3);
        tstr(prot, "application/json");
        head(prot, 0, 33);
        prot.writeBytes(chain.toByteArray());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xd2);                             // tag 18
        head(out, 4, 4);
        bstr(out, prot.toByteArray());
        head(out, 5, 0);
        bstr(out, "{\"x-ms-sevsnpvm-launchmeasurement\":\"00\"}".getBytes(StandardCharsets.UTF_8));
        bstr(out, new byte[96]);
        return out.toByteArray();
    }

    private static void head(ByteArrayOutputStream o, int major, long n) {
        if (n < 24) {
            o.write(major << 5 | (int) n);
        } else if (n < 256) {
            o.write(major << 5 | 24);
            o.write((int) n);
        } else if (n < 65536) {
            o.write(major << 5 | 25);
            o.write((int) (n >> 8));
            o.write((int) n);
        } else {
            o.write(major << 5 | 26);
            for (int s = 24; s >= 0; s -= 8) o.write((int) (n >> s));
        }
    }

    private static void bstr(ByteArrayOutputStream o, byte[] b) {
        head(o, 2, b.length);
        o.writeBytes(b);
    }

    private static void tstr(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        head(o, 3, b.length);
        o.writeBytes(b);
    }
}
