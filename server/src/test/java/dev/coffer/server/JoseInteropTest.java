package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.http.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Tokens and release responses verify with npm's jose under node, as a third party would check them. */
class JoseInteropTest {
    static final Path NODE_DIR = Path.of("src/test/node").toAbsolutePath();

    @TempDir
    static Path home;

    @BeforeAll
    static void installJose() throws Exception {
        assumeTrue(run(List.of("node", "--version"), 30).exitValue() == 0, "node is not installed");
        if (!Files.isDirectory(NODE_DIR.resolve("node_modules/jose"))) {
            Process npm = run(List.of("npm", "install", "--no-audit", "--no-fund", "--prefix", NODE_DIR.toString()), 180);
            assumeTrue(npm.exitValue() == 0, "cannot npm install jose into " + NODE_DIR + " (offline?)");
        }
    }

    @Test
    void es256AndRs256TokensAndReleasesVerifyWithJose() throws Exception {
        for (JWSAlgorithm alg : List.of(JWSAlgorithm.ES256, JWSAlgorithm.RS256)) {
            try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true)
                    .withToken(alg, Duration.ofMinutes(10)))) {
                CofferClient client = new CofferClient(server.url(), Files.readString(home.resolve("server/admin-token")).strip());
                byte[] hostData = Fixture.bytes(32, 0x44);
                Fixture.Guest guest = new Fixture.Guest(home, Fixture.bytes(48, 0x43), hostData, 0x30000L);
                String token = client.attest(guest.maaBody());
                String key = "jose-" + alg.getName();
                client.post("/keys/" + key + "/create", Map.of("kty", "oct", "exportable", true, "release_policy",
                        Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", server.issuerName(),
                                "allOf", List.of(Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", Fixture.hex(hostData))))))));
                String release = client.release(key, null, token, null);

                Process node = run(List.of("node", NODE_DIR.resolve("verify.mjs").toString(), server.url(), token, release), 60);
                String out = new String(node.getInputStream().readAllBytes());
                assertEquals(0, node.exitValue(), out);
                JsonNode result = Json.parse(out.strip());
                assertEquals(alg.getName(), result.path("token").path("alg").asText());
                assertEquals("coffer-sim-sevsnpvm", result.path("token").path("claims").path("x-ms-attestation-type").asText());
                assertEquals(Fixture.hex(hostData), result.path("token").path("claims").path("x-ms-sevsnpvm-hostdata").asText());
                assertEquals(alg.getName(), result.path("release").path("alg").asText());

                // A token with one flipped signature character fails jose's check too.
                // (the replacement differs from the character it replaces, so the signature always changes)
                char flipped = token.charAt(token.length() - 2) == 'A' ? 'B' : 'A';
                String tampered = token.substring(0, token.length() - 2) + flipped + token.charAt(token.length() - 1);
                Process bad = run(List.of("node", NODE_DIR.resolve("verify.mjs").toString(), server.url(), tampered), 60);
                assertEquals(1, bad.exitValue());
            }
        }
    }

    private static Process run(List<String> cmd, int seconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish in " + seconds + " s");
        }
        return p;
    }
}
