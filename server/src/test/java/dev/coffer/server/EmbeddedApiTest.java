package dev.coffer.server;

import dev.coffer.server.client.ReleasedKey;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.policy.ReleasePolicies;
import dev.coffer.server.vault.KeyInfo;
import dev.coffer.server.vault.KeySpec;
import dev.coffer.server.vault.ReleaseResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The in-process API the demo uses: start, create a key for a policy hash, attest, release, open. */
class EmbeddedApiTest {
    @TempDir
    Path home;

    @Test
    void demoFlowInProcess() throws Exception {
        byte[] hostData = Fixture.bytes(32, 0x61);
        try (CofferServer server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            assertTrue(server.url().startsWith("https://127.0.0.1:"), server.url());
            KeyInfo key = server.vault().create("demo-key", KeySpec.oct256(), true,
                    ReleasePolicies.forCofferGuest(server.issuerName(), Fixture.hex(hostData), "sim"), false);
            Fixture.Guest guest = new Fixture.Guest(home, Fixture.bytes(48, 0x62), hostData, 0x30000L);
            String token = server.attestation().attest(guest.report(), guest.chainPem(), guest.endorsements(), guest.runtimeJson, "JSON", "n");
            ReleaseResult released = server.vault().release("demo-key", null, token, null);
            ReleasedKey opened = ReleasedKey.open(released.value(), guest.runtimeKey.toRSAPrivateKey());
            assertEquals("oct-HSM", opened.kty());
            assertEquals(32, opened.material().length);
            assertTrue(opened.kid().endsWith("/keys/demo-key/" + key.version()));

            // A guest whose policy differs (other HOST_DATA) is refused, naming the claim.
            Fixture.Guest modified = new Fixture.Guest(home, Fixture.bytes(48, 0x62), Fixture.bytes(32, 0x63), 0x30000L);
            String other = server.attestation().attest(modified.report(), modified.chainPem(), modified.endorsements(), modified.runtimeJson, "JSON", null);
            ApiException refused = assertThrows(ApiException.class, () -> server.vault().release("demo-key", null, other, null));
            assertEquals(ErrorCode.RELEASE_DENIED, refused.code());
            assertTrue(refused.getMessage().contains("x-ms-sevsnpvm-hostdata"));
        }
    }
}
