package dev.coffer.server;

import dev.coffer.server.client.MaaRequest;
import dev.coffer.server.http.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Random, truncated and mutated bodies against every POST/PUT endpoint: always a 4xx with a catalogue code, never a 500. */
class HostileInputTest {
    @TempDir
    static Path home;
    static CofferServer server;
    static String admin;

    @BeforeAll
    static void start() throws Exception {
        server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        admin = Files.readString(home.resolve("server/admin-token")).strip();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void noBodyCausesA5xx() throws Exception {
        Fixture.Guest guest = new Fixture.Guest(home, Fixture.bytes(48, 1), Fixture.bytes(32, 2), 0x30000L);
        byte[] valid = Json.bytes(MaaRequest.body(guest.report(), guest.chainPem(), guest.runtimeJson, "n"));
        byte[] create = "{\"kty\":\"oct\",\"exportable\":true,\"release_policy\":{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a\",\"claim\":\"x\",\"exists\":true}]}}"
                .getBytes(StandardCharsets.UTF_8);
        record Target(String method, String path, byte[] seed, String token) {}
        List<Target> targets = List.of(new Target("POST", "/attest/SevSnpVm", valid, null),
                new Target("POST", "/keys/fuzz/create", create, admin),
                new Target("PUT", "/keys/fuzz2", "{\"key\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}".getBytes(), admin),
                new Target("PUT", "/keys/fuzz/policy", create, admin),
                new Target("POST", "/keys/fuzz/release", "{\"target\":\"a.b.c\"}".getBytes(), null),
                new Target("POST", "/admin/reference-values", "{\"measurement\":\"00\"}".getBytes(), admin),
                // an endorsed guest's request (report.Endorsements), and the new admin endpoints
                new Target("POST", "/attest/SevSnpVm", Json.bytes(guest.maaBody()), null),
                new Target("POST", "/admin/endorsements", Json.bytes(java.util.Map.of("endorsement",
                        java.util.Base64.getUrlEncoder().encodeToString(guest.endorsement))), admin),
                new Target("POST", "/admin/tokens", "{\"label\":\"fuzz\"}".getBytes(), admin));
        Random random = new Random(42);
        int checked = 0;
        for (Target t : targets) {
            for (int i = 0; i < 40; i++) {
                byte[] body = switch (i % 4) {
                    case 0 -> java.util.Arrays.copyOf(t.seed, random.nextInt(t.seed.length)); // truncated
                    case 1 -> { // one byte flipped
                        byte[] b = t.seed.clone();
                        b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
                        yield b;
                    }
                    case 2 -> { // random bytes
                        byte[] b = new byte[random.nextInt(2048)];
                        random.nextBytes(b);
                        yield b;
                    }
                    default -> ("{\"report\":" + "[".repeat(random.nextInt(3000)) + "}").getBytes(); // deep nesting
                };
                Fixture.Raw r = Fixture.callBytes(t.method, server.url() + t.path, body, t.token);
                assertTrue(r.status() < 500 || r.status() == 503 && r.code().equals("collateral_unavailable"),
                        t.path + " case " + i + " -> " + r.status() + " " + r.body());
                if (r.status() >= 400) {
                    assertNotNull(dev.coffer.server.http.ErrorCode.fromCode(r.code()), "uncatalogued code in " + r.body());
                }
                checked++;
            }
        }
        assertEquals(360, checked);
        // The server is still healthy afterwards.
        assertEquals(200, Fixture.call("GET", server.url() + "/health", null, null).status());
    }
}
