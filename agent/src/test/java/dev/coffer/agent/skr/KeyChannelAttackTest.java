package dev.coffer.agent.skr;

import dev.coffer.agent.tee.SimEvidenceSource;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.tls.ServerIdentity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The key channel as a hostile host attacks it: a proxy in the middle swapping the release for
 * one it signed, a vault signing with another key, plain HTTP, a certificate that is not the
 * pinned one. Each is refused with an error that names what was pinned; the control cases show
 * the attacks are real (an agent without pins takes the proxy's key).
 */
class KeyChannelAttackTest {
    static final String POLICY = "package policy\n\napi_version := \"0.10.0\"\n";
    static final ObjectMapper JSON = new ObjectMapper();
    static final byte[] DISK_KEY = HexFormat.of().parseHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    @TempDir
    static Path home;
    static CofferServer server;
    static SimLaunch launch;
    static SSLContext trustingServer;

    @BeforeAll
    static void start() throws Exception {
        server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        launch = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee")).launch(new byte[48], HostData.ofPolicy(POLICY));
        JsonNode policy = JSON.valueToTree(Map.of("version", "1.0.0", "anyOf", List.of(Map.of("authority", server.issuerName(),
                "allOf", List.of(Map.of("claim", "x-ms-sevsnpvm-hostdata", "equals", HexFormat.of().formatHex(HostData.ofPolicy(POLICY))),
                        Map.of("claim", "x-ms-compliance-status", "equals", "coffer-compliant-guest"))))));
        server.vault().importKey("disk-key", JSON.valueToTree(Map.of("kty", "oct", "k",
                Base64.getUrlEncoder().withoutPadding().encodeToString(DISK_KEY))), true, policy, false);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("server", server.tls().certificate());
        TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
        f.init(ks);
        trustingServer = SSLContext.getInstance("TLS");
        trustingServer.init(null, f.getTrustManagers(), null);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static SecureKeyRelease agent(KeyChannelTrust trust) {
        // a guest the server's home key endorsed (the server issues no token otherwise): the channel is under test here
        byte[] endorsement = dev.coffer.attest.endorse.EndorsementKey.openOrCreate(
                dev.coffer.server.AppraisalSettings.homeEndorsementKeyDir(home)).sign(HexFormat.of().formatHex(new byte[48]), 1);
        return new SecureKeyRelease(new SimEvidenceSource(launch), "CKM_RSA_AES_KEY_WRAP", Duration.ofSeconds(10), trust)
                .withGuestEndorsement(endorsement);
    }

    static KeyChannelTrust releaseKeysPinned(KeyChannelTrust base, String endpoint) {
        for (String k : server.pins().signingKeys()) base = base.withReleaseKey(endpoint, k);
        return base;
    }

    @Test
    void happyPathOverHttpsWithPins() {
        KeyChannelTrust trust = releaseKeysPinned(KeyChannelTrust.STRICT.withTlsCertificate(server.url(), server.pins().tlsCertificate()),
                server.url());
        ObjectNode jwk = agent(trust).releaseKey(server.url(), server.url(), "disk-key");
        assertArrayEquals(DISK_KEY, Base64.getUrlDecoder().decode(jwk.path("k").asText()));
    }

    @Test
    void proxySwappingTheReleaseIsRefusedAgainstThePin() throws Exception {
        try (MitmProxy proxy = new MitmProxy(server.url(), trustingServer, null, null)) {
            // the token comes from the genuine attestation service; the vault is reached through the proxy
            KeyChannelTrust base = KeyChannelTrust.PROCESS_SANDBOX_LOOPBACK.withTlsCertificate(server.url(), server.pins().tlsCertificate());
            // control: an agent that trusts the keys the same origin serves takes the proxy's key
            ObjectNode taken = agent(base).releaseKey(server.url(), proxy.url(), "disk-key");
            assertArrayEquals(MitmProxy.ATTACKER_KEY, Base64.getUrlDecoder().decode(taken.path("k").asText()),
                    "without a pin the swapped release is accepted: the attack is real");
            int swappedBefore = proxy.swapped.get();

            KeyChannelTrust pinned = releaseKeysPinned(base, proxy.url());
            SkrException e = assertThrows(SkrException.class, () -> agent(pinned).releaseKey(server.url(), proxy.url(), "disk-key"));
            assertEquals(proxy.swapped.get(), swappedBefore + 1, "the proxy did swap the release");
            assertEquals("release_response_invalid", e.code());
            assertTrue(e.getMessage().contains("not signed by the pinned release-signing key"), e.getMessage());
            assertTrue(e.getMessage().contains(server.pins().signingKeys().getFirst()), "names the pin: " + e.getMessage());
            assertTrue(e.getMessage().contains(proxy.attackerThumbprint()), "names what was found: " + e.getMessage());
        }
    }

    @Test
    void vaultSigningWithAnotherKeyIsRefusedNamingThePin() throws Exception {
        String other = dev.coffer.channel.Jwk.thumbprint(java.security.KeyPairGenerator.getInstance("EC").generateKeyPair().getPublic());
        // the same server reached as a second origin for attestation, so only the vault's pin is wrong
        String attestation = "https://localhost:" + java.net.URI.create(server.url()).getPort();
        KeyChannelTrust trust = KeyChannelTrust.STRICT.withTlsCertificate(server.url(), server.pins().tlsCertificate())
                .withTlsCertificate(attestation, server.pins().tlsCertificate()).withReleaseKey(server.url(), other);
        int audit = server.vault().audit("disk-key", 1000).size();
        SkrException e = assertThrows(SkrException.class, () -> agent(trust).releaseKey(attestation, server.url(), "disk-key"));
        assertEquals("release_response_invalid", e.code());
        assertTrue(e.getMessage().contains("expected a signature by " + other), e.getMessage());
        assertEquals(audit + 1, server.vault().audit("disk-key", 1000).size(), "the vault did release; the agent refused its answer");
    }

    @Test
    void attestationServiceAnsweringForAnotherKeyIsRefused() throws Exception {
        try (MitmProxy proxy = new MitmProxy(server.url(), trustingServer, null, null)) {
            // the proxy relays the genuine token but serves its own key set: the pinned key must sign it
            KeyChannelTrust trust = releaseKeysPinned(KeyChannelTrust.PROCESS_SANDBOX_LOOPBACK, proxy.url());
            String other = dev.coffer.channel.Jwk.thumbprint(java.security.KeyPairGenerator.getInstance("EC").generateKeyPair().getPublic());
            KeyChannelTrust wrongPin = KeyChannelTrust.PROCESS_SANDBOX_LOOPBACK.withReleaseKey(proxy.url(), other);
            SkrException e = assertThrows(SkrException.class, () -> agent(wrongPin).maaToken(proxy.url(), "{}".getBytes()));
            assertEquals("attestation_response_invalid", e.code());
            assertTrue(e.getMessage().contains("not signed by the pinned token-signing key") && e.getMessage().contains(other), e.getMessage());
            // with the genuine keys pinned, the proxy's own key set does not hold the token's kid
            SkrException served = assertThrows(SkrException.class, () -> agent(trust).maaToken(proxy.url(), "{}".getBytes()));
            assertEquals("attestation_response_invalid", served.code());
        }
        // the genuine service, its keys pinned: the token verifies
        KeyChannelTrust genuine = releaseKeysPinned(KeyChannelTrust.STRICT.withTlsCertificate(server.url(), server.pins().tlsCertificate()),
                server.url());
        assertEquals(3, agent(genuine).maaToken(server.url(), "{}".getBytes()).split("\\.").length);
    }

    @Test
    void unpinnedVaultIsRefusedOutsideTheProcessSandbox() {
        KeyChannelTrust trust = KeyChannelTrust.STRICT.withTlsCertificate(server.url(), server.pins().tlsCertificate());
        SkrException e = assertThrows(SkrException.class, () -> agent(trust).releaseKey(server.url(), server.url(), "disk-key"));
        assertEquals("release_key_not_pinned", e.code());
        assertTrue(e.getMessage().contains("no release-signing key is pinned for vault " + SecureKeyRelease.endpointOrigin(server.url())),
                e.getMessage());
    }

    @Test
    void plainHttpVaultIsRefused() throws Exception {
        try (MitmProxy plain = new MitmProxy(server.url(), trustingServer, null, null)) {
            // a microVM's agent: never plain HTTP, even with the vault's keys pinned
            KeyChannelTrust microVm = releaseKeysPinned(KeyChannelTrust.STRICT, plain.url());
            SkrException e = assertThrows(SkrException.class, () -> agent(microVm).releaseKey(plain.url(), plain.url(), "disk-key"));
            assertEquals(403, e.status());
            assertEquals("endpoint_insecure", e.code());
            assertTrue(e.getMessage().contains(plain.url() + " is plain HTTP; expected an https endpoint"), e.getMessage());
            assertEquals(0, plain.requests.get(), "refused before any byte was sent");
        }
        // the process sandbox: plain HTTP only to loopback
        SkrException far = assertThrows(SkrException.class, () -> agent(KeyChannelTrust.PROCESS_SANDBOX_LOOPBACK)
                .releaseKey("http://192.0.2.10:8400", "http://192.0.2.10:8400", "disk-key"));
        assertEquals("endpoint_insecure", far.code());
    }

    @Test
    void certificateOtherThanThePinnedOneIsRefused() throws Exception {
        ServerIdentity impostor = ServerIdentity.selfSigned("127.0.0.1");
        try (MitmProxy tls = new MitmProxy(server.url(), trustingServer, impostor.keyStore(new char[0]), null)) {
            KeyChannelTrust trust = releaseKeysPinned(KeyChannelTrust.STRICT.withTlsCertificate(tls.url(), server.pins().tlsCertificate()),
                    tls.url());
            SkrException e = assertThrows(SkrException.class, () -> agent(trust).releaseKey(tls.url(), tls.url(), "disk-key"));
            assertEquals("upstream_tls_refused", e.code());
            assertTrue(e.getMessage().contains("has SHA-256 " + impostor.fingerprint()), e.getMessage());
            assertTrue(e.getMessage().contains("the policy pins " + server.pins().tlsCertificate()), e.getMessage());
            assertEquals(0, tls.requests.get(), "no request crossed the refused connection");

            // without a pin the JDK's trust store decides, and a self-signed certificate is not in it
            SkrException unpinned = assertThrows(SkrException.class, () -> agent(releaseKeysPinned(KeyChannelTrust.STRICT, tls.url()))
                    .releaseKey(tls.url(), tls.url(), "disk-key"));
            assertEquals("upstream_tls_refused", unpinned.code());
        }
    }

    @Test
    void jwksUriIsFollowedOnlyWithinThePinnedOrigin() throws Exception {
        try (MitmProxy proxy = new MitmProxy(server.url(), trustingServer, null, "https://127.0.0.2:9/certs")) {
            KeyChannelTrust pinned = releaseKeysPinned(KeyChannelTrust.PROCESS_SANDBOX_LOOPBACK
                    .withTlsCertificate(server.url(), server.pins().tlsCertificate()), proxy.url());
            SkrException e = assertThrows(SkrException.class, () -> agent(pinned).releaseKey(server.url(), proxy.url(), "disk-key"));
            assertEquals("release_response_invalid", e.code());
            assertTrue(e.getMessage().contains("jwks_uri points to https://127.0.0.2:9"), e.getMessage());
        }
    }

    @Test
    void pinsAreCheckedWhenConfigured() {
        var bad = assertThrows(IllegalArgumentException.class, () -> KeyChannelTrust.STRICT.withReleaseKey(server.url(), "short"));
        assertTrue(bad.getMessage().contains("RFC 7638"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KeyChannelTrust.STRICT.withTlsCertificate(server.url(), "zz"));
        assertThrows(IllegalArgumentException.class, () -> KeyChannelTrust.STRICT.withTlsCertificate("http://127.0.0.1:1", "ab".repeat(32)));
        String colons = String.join(":", server.pins().tlsCertificate().toUpperCase().split("(?<=\\G..)"));
        assertEquals(server.pins().tlsCertificate(), KeyChannelTrust.normalizeFingerprint(colons));
    }
}
