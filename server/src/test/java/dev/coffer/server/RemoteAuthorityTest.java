package dev.coffer.server;

import com.nimbusds.jose.JWSAlgorithm;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.client.ReleasedKey;
import dev.coffer.server.http.Json;
import dev.coffer.server.policy.ReleasePolicies;
import dev.coffer.server.token.SigningKeyRing;
import dev.coffer.server.token.TokenIssuer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** A vault trusting another server's attestation service: the JWKS is fetched from the authority URL. */
class RemoteAuthorityTest {
    @TempDir
    Path attestHome;
    @TempDir
    Path vaultHome;

    @Test
    void vaultFetchesTheAuthoritysJwks() throws Exception {
        byte[] hostData = Fixture.bytes(32, 0x71);
        AdjustableClock clock = new AdjustableClock();
        try (CofferServer attestation = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(attestHome).withPort(0).withTrustSim(true)
                .withToken(JWSAlgorithm.RS256, Duration.ofMinutes(30)));
             CofferServer vault = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(vaultHome).withPort(0).withClock(clock))) {
            CofferClient vaultAdmin = new CofferClient(vault.url(), Files.readString(vaultHome.resolve("server/admin-token")).strip());
            // The authority is the attestation server, written with a trailing slash as Azure samples do.
            vaultAdmin.post("/keys/remote/create", Map.of("kty", "oct", "exportable", true,
                    "release_policy", ReleasePolicies.forCofferGuest(attestation.issuerName() + "/", Fixture.hex(hostData), "sim")));
            Fixture.Guest guest = new Fixture.Guest(attestHome, Fixture.bytes(48, 0x72), hostData, 0x30000L);
            String token = new CofferClient(attestation.url(), null).attest(guest.maaBody());
            String jws = new CofferClient(vault.url(), null).release("remote", null, token, "RSA_AES_KEY_WRAP_256");
            assertEquals(32, ReleasedKey.open(jws, guest.runtimeKey.toRSAPrivateKey()).material().length);

            // A token from the vault's own issuer is not from the policy's authority.
            String own = vault.tokenIssuer().issue(Map.of("x-ms-attestation-type", "sevsnpvm"));
            Fixture.Raw r = Fixture.call("POST", vault.url() + "/keys/remote/release", Json.string(Map.of("target", own)), null);
            assertEquals("token_issuer_untrusted", r.code());

            // The authority goes away: a token with a kid the vault has not cached cannot be checked.
            SigningKeyRing other = SigningKeyRing.open(attestHome.resolve("other-ring.json"), Duration.ofHours(1), Clock.systemUTC());
            String unknownKid = new TokenIssuer(other, attestation.issuerName(), JWSAlgorithm.ES256, Duration.ofHours(1),
                    Clock.systemUTC()).issue(Map.of("x-ms-sevsnpvm-hostdata", Fixture.hex(hostData)));
            attestation.close();
            clock.advance(Duration.ofSeconds(11)); // past the refetch interval: the vault asks the (closed) authority again
            Fixture.Raw down = Fixture.call("POST", vault.url() + "/keys/remote/release", Json.string(Map.of("target", unknownKid)), null);
            assertEquals(503, down.status(), down.body());
            assertEquals("token_issuer_unreachable", down.code());
        }
    }
}
