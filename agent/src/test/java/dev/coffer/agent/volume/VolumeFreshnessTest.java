package dev.coffer.agent.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.skr.EvidenceSource;
import dev.coffer.agent.skr.KeyChannelTrust;
import dev.coffer.agent.skr.SecureKeyRelease;
import dev.coffer.agent.tee.SimEvidenceSource;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.vault.KeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The freshness protocol against the real vault (in-process {@code coffer server}, trust-sim,
 * over HTTPS with its release-signing keys pinned): the generation comes from the signed release,
 * every advance is an attested compare-and-set whose signed answer the agent checks. The file
 * system is a directory here (this host has no device-mapper); in the guest it is the root of
 * the opened, integrity-protected volume, and the microVM test covers that.
 */
class VolumeFreshnessTest {
    static final String POLICY = "package policy\n\napi_version := \"0.10.0\"\nframework_version := \"0.2.3\"\n";
    static final ObjectMapper JSON = new ObjectMapper();
    static final AtomicInteger KEYS = new AtomicInteger();

    @TempDir
    static Path home;
    static CofferServer server;
    static EvidenceSource tee;
    static EvidenceSource otherPolicy;
    static KeyChannelTrust pinned;
    static JsonNode releasePolicy;

    @BeforeAll
    static void start() {
        byte[] measurement = new byte[48];
        Arrays.fill(measurement, (byte) 0x5a);
        server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        KeyChannelTrust t = KeyChannelTrust.STRICT.withTlsCertificate(server.url(), server.pins().tlsCertificate());
        for (String k : server.pins().signingKeys()) t = t.withReleaseKey(server.url(), k);
        pinned = t;
        SimulatedSecureProcessor sp = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        byte[] endorsement = dev.coffer.attest.endorse.EndorsementKey.openOrCreate(
                dev.coffer.server.AppraisalSettings.homeEndorsementKeyDir(home)).sign(HexFormat.of().formatHex(measurement), 1);
        tee = EvidenceSource.endorsed(new SimEvidenceSource(sp.launch(measurement, HostData.ofPolicy(POLICY))), endorsement);
        otherPolicy = EvidenceSource.endorsed(new SimEvidenceSource(sp.launch(measurement, HostData.ofPolicy(POLICY + "# other\n"))),
                endorsement);
        releasePolicy = dev.coffer.server.policy.ReleasePolicies.forCofferGuest(server.issuerName(),
                HexFormat.of().formatHex(HostData.ofPolicy(POLICY)), "sim");
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    /** A fresh volume key, as {@code coffer volume create} makes one: generation 0. */
    static String newKey() {
        String name = "vol-" + KEYS.incrementAndGet();
        server.vault().create(name, KeySpec.oct256(), true, releasePolicy, false);
        return name;
    }

    static Request.MountEncryptedVolume mount(String key, boolean readOnly) {
        return new Request.MountEncryptedVolume("data", "/images/data.img", key, server.url(), server.url(), readOnly, null,
                "hmac-sha256", "/dev/vdb");
    }

    /** The generation the vault signs into a release for this group (what the agent opens with). */
    static long released(String key) {
        SecureKeyRelease.VolumeKeyRelease r = new SecureKeyRelease(tee, pinned).releaseVolumeKey(server.url(), server.url(), key);
        assertEquals(32, Base64.getUrlDecoder().decode(r.jwk().path("k").asText()).length, "the key came with it");
        return r.generation();
    }

    /** One session as the agent runs it: release, open (check and advance), then clean close. */
    static long openSession(String key, Path fs) {
        return VolumeFreshness.open("data", fs, released(key), false, EncryptedVolumes.vault(mount(key, false), tee, pinned));
    }

    static void closeSession(String key, Path fs, long session) {
        VolumeFreshness.close(fs, session, EncryptedVolumes.vault(mount(key, false), tee, pinned));
    }

    static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    @Test
    void aNewVolumeStartsAtZeroAndEachSessionAdvancesAtOpenAndAtCleanClose(@TempDir Path fs) {
        String key = newKey();
        assertEquals(0, server.vault().generation(key));
        assertEquals(0, VolumeFreshness.read(fs), "no file: a volume never opened since it was made");
        long s1 = openSession(key, fs);
        assertEquals(1, s1);
        assertEquals(1, VolumeFreshness.read(fs));
        assertEquals(1, server.vault().generation(key));
        closeSession(key, fs, s1);
        assertEquals(2, VolumeFreshness.read(fs));
        assertEquals(2, server.vault().generation(key));
        assertEquals(2, released(key), "the next release carries the vault's value");
        long s2 = openSession(key, fs);
        assertEquals(3, s2);
        closeSession(key, fs, s2);
        assertEquals(4, server.vault().generation(key));
        assertEquals("coffer-volume-generation 4\n", readString(fs.resolve(VolumeFreshness.FILE)));
    }

    @Test
    void aSnapshotTakenDuringASessionIsRefusedAfterItsCleanClose(@TempDir Path dir) throws IOException {
        String key = newKey();
        Path fs = Files.createDirectories(dir.resolve("live"));
        long s = openSession(key, fs);
        Files.writeString(fs.resolve("balance"), "100");
        Path snapshot = copy(fs, dir.resolve("snapshot"));
        Files.writeString(fs.resolve("balance"), "0");
        closeSession(key, fs, s);

        VolumeException e = assertThrows(VolumeException.class, () -> openSession(key, snapshot));
        assertEquals(VolumeException.Reason.STALE, e.reason());
        assertTrue(e.getMessage().contains("expected volume generation 2 (or 3) in the image, found 1"), e.getMessage());
        assertTrue(e.getMessage().contains("replayed copy of volume data"), e.getMessage());
        assertEquals(2, server.vault().generation(key), "a refused open changes nothing at the vault");
        assertEquals(1, VolumeFreshness.read(snapshot), "nor in the image");
        // the newest image still opens
        assertEquals(3, openSession(key, fs));
    }

    @Test
    void anImageFromBeforeItsFirstUseIsRefusedOnceTheVolumeWasUsed(@TempDir Path dir) throws IOException {
        String key = newKey();
        Path fs = Files.createDirectories(dir.resolve("live"));
        Path pristine = copy(fs, dir.resolve("pristine"));
        closeSession(key, fs, openSession(key, fs));
        VolumeException e = assertThrows(VolumeException.class, () -> openSession(key, pristine));
        assertEquals(VolumeException.Reason.STALE, e.reason());
        assertTrue(e.getMessage().contains("found 0 (no " + VolumeFreshness.FILE), e.getMessage());
    }

    @Test
    void aCrashedSessionLeavesItsOwnSnapshotsOpenableButNotOlderOnes(@TempDir Path dir) throws IOException {
        // the documented limit: without a clean close the vault stays at the session's generation
        String key = newKey();
        Path fs = Files.createDirectories(dir.resolve("live"));
        closeSession(key, fs, openSession(key, fs));
        Path beforeSession = copy(fs, dir.resolve("before"));
        long crashed = openSession(key, fs);
        Path during = copy(fs, dir.resolve("during"));
        Files.writeString(fs.resolve("late-write"), "lost if the host replays 'during'");
        // the VM is killed here: no close
        assertEquals(crashed, server.vault().generation(key));
        assertEquals(VolumeException.Reason.STALE, assertThrows(VolumeException.class, () -> openSession(key, beforeSession)).reason());
        assertEquals(crashed + 1, openSession(key, during), "a snapshot of the crashed session opens: undetectable by design");
    }

    @Test
    void anImageOneAheadIsTheNewestAndCatchesTheVaultUp(@TempDir Path fs) {
        // the close wrote the image, then its advance never reached the vault (crash or dropped request)
        String key = newKey();
        long s = openSession(key, fs);
        VolumeFreshness.write(fs, s + 1);
        assertEquals(s, server.vault().generation(key));
        long next = openSession(key, fs);
        assertEquals(s + 2, next);
        assertEquals(s + 2, server.vault().generation(key));
        assertEquals(s + 2, VolumeFreshness.read(fs));
    }

    @Test
    void anImageTwoAheadMeansTheVaultWasRolledBackAndIsRefused(@TempDir Path fs) {
        String key = newKey();
        VolumeFreshness.write(fs, 2);
        VolumeException e = assertThrows(VolumeException.class, () -> openSession(key, fs));
        assertEquals(VolumeException.Reason.STALE, e.reason());
        assertTrue(e.getMessage().contains("expected volume generation 0 or 1 in the image, found 2"), e.getMessage());
        assertTrue(e.getMessage().contains("restore the vault's store"), e.getMessage());
        assertEquals(0, server.vault().generation(key));
    }

    @Test
    void twoGroupsOpeningTheSameVolumeAtOnceOneLoses(@TempDir Path dir) throws IOException {
        String key = newKey();
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = copy(a, dir.resolve("b"));
        long seen = released(key);
        long sa = VolumeFreshness.open("data", a, seen, false, EncryptedVolumes.vault(mount(key, false), tee, pinned));
        VolumeException e = assertThrows(VolumeException.class,
                () -> VolumeFreshness.open("data", b, seen, false, EncryptedVolumes.vault(mount(key, false), tee, pinned)));
        assertEquals(VolumeException.Reason.STALE, e.reason());
        assertTrue(e.getMessage().contains("[generation_conflict]"), e.getMessage());
        assertEquals(sa, server.vault().generation(key));
    }

    @Test
    void aReadOnlyOpenChecksButWritesAndAdvancesNothing(@TempDir Path fs) {
        String key = newKey();
        closeSession(key, fs, openSession(key, fs));
        VolumeFreshness.Vault refuses = (x, y) -> fail("a read-only open must not advance");
        assertEquals(2, VolumeFreshness.open("data", fs, released(key), true, refuses));
        assertEquals(2, server.vault().generation(key));
        assertEquals(2, VolumeFreshness.read(fs));
    }

    @Test
    void aGroupWithAnotherPolicyCannotMoveTheGeneration(@TempDir Path fs) {
        String key = newKey();
        VolumeException e = assertThrows(VolumeException.class,
                () -> VolumeFreshness.open("data", fs, 0, false, EncryptedVolumes.vault(mount(key, false), otherPolicy, pinned)));
        assertEquals(VolumeException.Reason.FAILED, e.reason());
        assertTrue(e.getMessage().contains("did not advance the volume generation"), e.getMessage());
        assertEquals(0, server.vault().generation(key), "refused without the release's authorisation");
    }

    @Test
    void aGenuineAnswerReplayedByTheHostIsRefused() throws Exception {
        // a genuine, correctly signed answer for an earlier request (another token): what a host that
        // recorded the traffic can send back instead of forwarding the advance
        String key = newKey();
        String earlierToken = new SecureKeyRelease(tee, pinned).maaToken(server.url(), "{}".getBytes(StandardCharsets.UTF_8));
        String recorded = server.vault().advanceGeneration(key, null, earlierToken, 0, 1);
        HttpServer replay = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        AtomicInteger served = new AtomicInteger();
        byte[] certs = serverCerts();
        replay.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            String path = x.getRequestURI().getPath();
            // the vault's genuine key set passes through (the pin decides which keys count); the advance gets the recording
            byte[] body = path.equals("/certs") ? certs : path.endsWith("/generation") ? JSON.writeValueAsBytes(java.util.Map.of("value", recorded)) : null;
            x.getResponseHeaders().set("Content-Type", "application/json");
            if (body == null) {
                x.sendResponseHeaders(404, -1);
            } else {
                x.sendResponseHeaders(200, body.length);
                x.getResponseBody().write(body);
            }
            x.close();
            if (path.endsWith("/generation")) served.incrementAndGet();
        });
        replay.start();
        try {
            String url = "http://127.0.0.1:" + replay.getAddress().getPort();
            KeyChannelTrust t = KeyChannelTrust.PROCESS_SANDBOX_LOOPBACK.withTlsCertificate(server.url(), server.pins().tlsCertificate());
            for (String k : server.pins().signingKeys()) t = t.withReleaseKey(server.url(), k).withReleaseKey(url, k);
            KeyChannelTrust trust = t;
            // the same move (0 -> 1) the recorded answer names: only the token digest tells them apart
            var e = assertThrows(dev.coffer.agent.skr.SkrException.class,
                    () -> new SecureKeyRelease(tee, trust).advanceGeneration(server.url(), url, key, 0, 1));
            assertEquals(1, served.get(), "the replayed answer was served");
            assertEquals("release_response_invalid", e.code());
            assertTrue(e.getMessage().contains("for another request (a replayed answer)"), e.getMessage());
            // another move than the one asked for
            e = assertThrows(dev.coffer.agent.skr.SkrException.class,
                    () -> new SecureKeyRelease(tee, trust).advanceGeneration(server.url(), url, key, 1, 2));
            assertTrue(e.getMessage().contains("from generation 1 to 2 for this request, found 0 -> 1"), e.getMessage());
            // and through the agent's freshness check: the open is refused, not taken as advanced
            Path fs = Files.createTempDirectory(home, "fs");
            VolumeFreshness.write(fs, 1);
            VolumeException v = assertThrows(VolumeException.class, () -> VolumeFreshness.open("data", fs,
                    1, false, EncryptedVolumes.vault(new Request.MountEncryptedVolume("data", "/images/data.img", key, server.url(), url,
                            false, null, "hmac-sha256", "/dev/vdb"), tee, trust)));
            assertEquals(VolumeException.Reason.FAILED, v.reason());
            assertTrue(v.getMessage().contains("[release_response_invalid]"), v.getMessage());
        } finally {
            replay.stop(0);
        }
    }

    @Test
    void aMalformedGenerationFileIsRefusedNeverTakenAsZero(@TempDir Path dir) throws IOException {
        Path text = Files.createDirectories(dir.resolve("text"));
        Files.writeString(text.resolve(VolumeFreshness.FILE), "coffer-volume-generation -1\n");
        assertEquals(VolumeException.Reason.STALE, assertThrows(VolumeException.class, () -> VolumeFreshness.read(text)).reason());

        Path big = Files.createDirectories(dir.resolve("big"));
        Files.writeString(big.resolve(VolumeFreshness.FILE), "coffer-volume-generation 1\n" + "x".repeat(100));
        VolumeException e = assertThrows(VolumeException.class, () -> VolumeFreshness.read(big));
        assertTrue(e.getMessage().contains("at most 64 bytes"), e.getMessage());

        Path link = Files.createDirectories(dir.resolve("link"));
        Files.writeString(dir.resolve("elsewhere"), "coffer-volume-generation 9\n");
        Files.createSymbolicLink(link.resolve(VolumeFreshness.FILE), dir.resolve("elsewhere"));
        e = assertThrows(VolumeException.class, () -> VolumeFreshness.read(link));
        assertTrue(e.getMessage().contains("a symbolic link"), e.getMessage());

        Path directory = Files.createDirectories(dir.resolve("dir").resolve(VolumeFreshness.FILE)).getParent();
        e = assertThrows(VolumeException.class, () -> VolumeFreshness.read(directory));
        assertTrue(e.getMessage().contains("a directory"), e.getMessage());

        Path overflow = Files.createDirectories(dir.resolve("overflow"));
        Files.writeString(overflow.resolve(VolumeFreshness.FILE), "coffer-volume-generation 99999999999999999999\n");
        assertThrows(VolumeException.class, () -> VolumeFreshness.read(overflow));
    }

    /** The server's signing keys as it serves them at /certs, fetched over TLS trusting its certificate. */
    static byte[] serverCerts() throws Exception {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("server", server.tls().certificate());
        javax.net.ssl.TrustManagerFactory f = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        f.init(ks);
        javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
        tls.init(null, f.getTrustManagers(), null);
        try (java.net.http.HttpClient c = java.net.http.HttpClient.newBuilder().sslContext(tls).build()) {
            var r = c.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url() + "/certs")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode());
            return r.body();
        }
    }

    static String readString(Path p) {
        try {
            return Files.readString(p, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
