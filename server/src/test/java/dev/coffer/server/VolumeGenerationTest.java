package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import dev.coffer.channel.ChannelFormatException;
import dev.coffer.channel.SignedRelease;
import dev.coffer.channel.VolumeGeneration;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.http.Json;
import dev.coffer.server.token.TokenIssuer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The vault's volume generation over HTTP: every signed release carries it, an attested caller
 * advances it by compare-and-set and gets a signed answer naming its token, it only moves
 * forward, a conflicting or unauthorised advance changes nothing (and is audited), and it
 * survives a restart of the server.
 */
class VolumeGenerationTest {
    static final byte[] MEASUREMENT = Fixture.bytes(48, 0x41);
    static final byte[] HOST_DATA = Fixture.bytes(32, 0x42);

    @TempDir
    Path home;

    private static Fixture.Raw advance(CofferServer server, String key, String token, long expected, long next) throws Exception {
        return Fixture.call("POST", server.url() + "/keys/" + key + "/generation",
                Json.string(Map.of("target", token, "expected", expected, "next", next)), null);
    }

    private static long stored(CofferClient admin, String key) {
        return admin.get("/keys/" + key + "/generation").path("generation").asLong(-1);
    }

    /** The payload of a vault JWS, verified against the server's pinned release-signing keys (as the agent does). */
    private static JsonNode verified(CofferServer server, String jws) throws Exception {
        JsonNode jwks = Json.parse(Fixture.call("GET", server.url() + "/certs", null, null).body());
        return SignedRelease.verify(jws, jwks, server.pins().signingKeys());
    }

    @Test
    void releasesCarryTheGenerationAndAnAttestedCallerAdvancesItByCompareAndSet() throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            CofferClient admin = new CofferClient(server.url(), Files.readString(home.resolve("server/admin-token")).strip());
            admin.post("/keys/vol/create", Map.of("kty", "oct", "exportable", true,
                    "release_policy", ReleaseBadInputTest.policy(server.issuerName(), Fixture.hex(HOST_DATA))));
            Fixture.Guest guest = new Fixture.Guest(home, MEASUREMENT, HOST_DATA, 0x30000L);
            String token = admin.attest(guest.maaBody());

            // a new key's volume is at generation 0, and the signed release says so
            JsonNode release = verified(server, releaseJws(server, token));
            assertEquals(VolumeGeneration.current("vol", 0), VolumeGeneration.read(release, "vol", "the release"));
            assertEquals(0, stored(admin, "vol"));

            Fixture.Raw first = advance(server, "vol", token, 0, 1);
            assertEquals(200, first.status(), first.body());
            VolumeGeneration answer = VolumeGeneration.read(verified(server, first.json().path("value").asText()), "vol", "the answer");
            assertEquals(1, answer.generation());
            assertEquals(0L, answer.previous());
            assertEquals(VolumeGeneration.targetDigest(token), answer.targetSha256(), "the answer names the request's token");
            assertEquals(1, stored(admin, "vol"));
            assertEquals(1, VolumeGeneration.read(verified(server, releaseJws(server, token)), "vol", "the release").generation());

            // a second advance from the old value (another session, a replayed request) loses and changes nothing
            Fixture.Raw stale = advance(server, "vol", token, 0, 1);
            assertEquals(409, stale.status(), stale.body());
            assertEquals("generation_conflict", stale.code());
            assertTrue(stale.body().contains("is 1, not the expected 0"), stale.body());
            assertEquals(1, stored(admin, "vol"));
            // audited: the advance, the release after it, the refused advance
            JsonNode audited = admin.get("/audit?limit=3&key=vol").path("entries");
            assertEquals("denied", audited.get(0).path("verdict").asText());
            assertEquals("generation_conflict", audited.get(0).path("code").asText());
            assertEquals("released", audited.get(1).path("verdict").asText());
            assertEquals("advanced", audited.get(2).path("verdict").asText());
            assertTrue(audited.get(2).path("reason").asText().contains("volume generation 0 -> 1"), audited.get(2).toString());

            // only forward: equal or smaller is refused before anything is looked at
            for (long[] bad : new long[][] {{1, 1}, {1, 0}, {-1, 3}}) {
                Fixture.Raw r = advance(server, "vol", token, bad[0], bad[1]);
                assertEquals(400, r.status(), r.body());
                assertEquals("malformed_request", r.code());
                assertTrue(r.body().contains("only moves forward"), r.body());
            }
            // a skip forward is allowed (the agent's crash recovery uses it), from the current value only
            assertEquals(200, advance(server, "vol", token, 1, 3).status());
            assertEquals(3, stored(admin, "vol"));

            // without a valid token nothing moves: garbage, none, expired, another guest's, another issuer's
            assertRefused(advance(server, "vol", "a.b.c", 3, 4), 401, "token_malformed");
            assertRefused(Fixture.call("POST", server.url() + "/keys/vol/generation", "{\"expected\": 3, \"next\": 4}", null),
                    400, "malformed_request");
            assertRefused(Fixture.call("POST", server.url() + "/keys/vol/generation", "{\"target\": \"" + token
                    + "\", \"expected\": \"3\", \"next\": 4}", null), 400, "malformed_request");
            assertRefused(Fixture.call("POST", server.url() + "/keys/vol/generation", "{not json", null), 400, "malformed_request");
            String expired = new TokenIssuer(server.signingKeys(), server.issuerName(), JWSAlgorithm.ES256, Duration.ofHours(1),
                    Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC)).issue(Map.of("x-ms-sevsnpvm-hostdata",
                    Fixture.hex(HOST_DATA), "x-coffer-tee", "sim"));
            assertRefused(advance(server, "vol", expired, 3, 4), 401, "token_expired");
            Fixture.Guest other = new Fixture.Guest(home, MEASUREMENT, Fixture.bytes(32, 0x99), 0x30000L);
            Fixture.Raw denied = advance(server, "vol", admin.attest(other.maaBody()), 3, 4);
            assertRefused(denied, 403, "release_denied");
            assertTrue(denied.body().contains("x-ms-sevsnpvm-hostdata"), denied.body());
            assertRefused(advance(server, "no-such-key", token, 0, 1), 404, "key_not_found");
            assertEquals(3, stored(admin, "vol"), "no refused request moved the generation");
            for (JsonNode e : admin.get("/audit?limit=6&key=vol").path("entries")) {
                assertEquals("denied", e.path("verdict").asText(), e.toString());
            }

            // an answer for one key is not one for another, and a forged answer fails the pin
            JsonNode payload = verified(server, first.json().path("value").asText());
            var wrongKey = assertThrows(ChannelFormatException.class, () -> VolumeGeneration.read(payload, "other", "the answer"));
            assertTrue(wrongKey.getMessage().contains("expected the generation of key 'other'"), wrongKey.getMessage());
            // the read is administrators' only
            assertEquals(401, Fixture.call("GET", server.url() + "/keys/vol/generation", null, null).status());
        }
        // persisted: a restarted server holds the same generation
        try (CofferServer again = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            assertEquals(3, again.vault().generation("vol"));
            // a key deleted and made again under the name is a new volume key: generation 0
            again.vault().delete("vol");
            again.vault().create("vol", dev.coffer.server.vault.KeySpec.oct256(), true,
                    Json.MAPPER.valueToTree(ReleaseBadInputTest.policy(again.issuerName(), Fixture.hex(HOST_DATA))), false);
            assertEquals(0, again.vault().generation("vol"));
        }
    }

    private static String releaseJws(CofferServer server, String token) throws Exception {
        Fixture.Raw r = Fixture.call("POST", server.url() + "/keys/vol/release", Json.string(Map.of("target", token)), null);
        assertEquals(200, r.status(), r.body());
        return r.json().path("value").asText();
    }

    private static void assertRefused(Fixture.Raw r, int status, String code) {
        assertEquals(status, r.status(), r.body());
        assertEquals(code, r.code(), r.body());
        assertFalse(r.json().path("error").path("message").asText().isBlank());
    }
}
