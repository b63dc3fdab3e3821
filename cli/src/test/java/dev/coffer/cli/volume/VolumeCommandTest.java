package dev.coffer.cli.volume;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.skr.SecureKeyRelease;
import dev.coffer.agent.tee.SimEvidenceSource;
import dev.coffer.agent.volume.EncryptedVolume;
import dev.coffer.agent.volume.Luks2Header;
import dev.coffer.agent.volume.VolumeIntegrity;
import dev.coffer.agent.volume.VolumeException;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.cli.Json;
import dev.coffer.cli.Main;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code coffer volume create} against an embedded trust-sim server; the key it imports is released to a matching group and opens the volume. */
class VolumeCommandTest {
    static final String GROUP_POLICY = "package policy\napi_version := \"0.10.0\"\n";

    @TempDir
    static Path home;
    static CofferServer server;
    static String token;
    static Path policy;

    @BeforeAll
    static void start() throws Exception {
        // the CLI looks for the microVM guest in its home: this one has none, whatever the user's home holds
        System.setProperty("coffer.home", home.toString());
        server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        token = Files.readString(home.resolve("server/admin-token")).strip();
        policy = home.resolve("release-policy.json");
        Files.writeString(policy, """
                {"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[
                  {"claim":"x-ms-sevsnpvm-hostdata","equals":"%s"}]}]}""".formatted(server.issuerName(),
                HexFormat.of().formatHex(HostData.ofPolicy(GROUP_POLICY))));
    }

    @AfterAll
    static void stop() {
        System.clearProperty("coffer.home");
        server.close();
    }

    static CliRun run(String... args) {
        CommandLine cli = Main.commandLine();
        if (!cli.getSubcommands().containsKey("volume")) cli.addSubcommand(new VolumeCommand());
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.contains("--help")) all.addAll(List.of("--server", server.url(), "--token", token));
        return CliRun.execute(cli, all.toArray(String[]::new));
    }

    /** Authenticated (the default) where this host has device-mapper to make it; plain XTS, asked for explicitly, elsewhere. */
    static final String MODE = EncryptedVolume.unavailableReason() == null ? "hmac-sha256" : "none";

    @Test
    void withoutDeviceMapperTheDefaultAuthenticatedVolumeIsRefusedAndNothingIsLeft() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(EncryptedVolume.unavailableReason() != null, "this host can make authenticated volumes");
        Path vol = home.resolve("auth.img");
        CliRun r = run("volume", "create", vol.toString(), "--size", "32M", "--key", "auth-key", "--policy", policy.toString());
        assertEquals(1, r.exit(), r.out());
        // no device-mapper and no guest to format it in: both named, with what to do
        assertTrue(r.err().contains("authenticated volume (integrity hmac-sha256) needs device-mapper with dm-integrity here or a"
                + " microVM to format it in"), r.err());
        assertTrue(r.err().contains("the microVM guest is not built") && r.err().contains("coffer guest build"), r.err());
        assertTrue(r.err().contains("--integrity none"), r.err());
        assertFalse(Files.exists(vol));
        assertTrue(server.vault().list().stream().noneMatch(k -> k.name().equals("auth-key")), "no key left in the vault");
        CliRun bad = run("volume", "create", vol.toString(), "--size", "32M", "--key", "auth-key", "--policy", policy.toString(),
                "--integrity", "crc32c");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("\"hmac-sha256\" or \"none\", found \"crc32c\""), bad.err());
    }

    @Test
    void createsAVolumeWhoseKeyOnlyAMatchingGroupReleases() throws Exception {
        Path vol = home.resolve("data.img");
        CliRun r = run("volume", "create", vol.toString(), "--size", "40M", "--key", "data-key", "--policy", policy.toString(), "--integrity", MODE, "-o", "json");
        assertEquals(0, r.exit(), r.err());
        JsonNode out = Json.MAPPER.readTree(r.out());
        assertEquals("LUKS2", out.path("format").asText());
        assertEquals("aes-xts-plain64", out.path("cipher").asText());
        assertEquals(4096, out.path("sector_size").asInt());
        assertEquals(40L << 20, out.path("size").asLong());
        assertEquals("data-key", out.path("key").asText());
        assertEquals(MODE, out.path("integrity").asText());
        // the digest printed is the one the agent computes and checks
        Luks2Header header = Luks2Header.read(vol);
        assertEquals(header.digest(), out.path("header_digest").asText());
        header.requireCofferShape(VolumeIntegrity.of(MODE), out.path("header_digest").asText());
        assertFalse(r.out().contains("\"k\""), "key material is never printed");

        JsonNode stored = Json.MAPPER.valueToTree(server.vault().get("data-key", null).toJson());
        assertTrue(stored.path("exportable").asBoolean());
        assertEquals("oct-256", stored.path("type").asText());

        var sp = SimulatedSecureProcessor.openOrCreate(home.resolve("sim-tee"));
        var jwk = new SecureKeyRelease(new SimEvidenceSource(sp.launch(new byte[48], HostData.ofPolicy(GROUP_POLICY))),
                dev.coffer.agent.skr.KeyChannelTrust.PROCESS_SANDBOX_LOOPBACK)
                // a guest the server's home key endorsed: the server issues no token to any other
                .withGuestEndorsement(dev.coffer.attest.endorse.EndorsementKey.openOrCreate(
                        dev.coffer.server.AppraisalSettings.homeEndorsementKeyDir(home)).sign("00".repeat(48), 1))
                .releaseKey(server.url(), server.url(), "data-key");
        byte[] released = Base64.getUrlDecoder().decode(jwk.path("k").asText());
        EncryptedVolume.checkKey(vol, released);
        assertEquals(VolumeException.Reason.WRONG_KEY, assertThrows(VolumeException.class,
                () -> EncryptedVolume.checkKey(vol, new byte[32])).reason());
    }

    @Test
    void textOutputNamesFileAndKey() throws Exception {
        Path vol = home.resolve("text.img");
        CliRun r = run("volume", "create", vol.toString(), "--size", "32M", "--key", "text-key", "--policy", policy.toString(), "--integrity", MODE);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("created " + vol.toAbsolutePath()), r.out());
        assertTrue(r.out().contains("vault key 'text-key'"), r.out());
        assertTrue(r.out().contains("header_digest " + Luks2Header.read(vol).digest() + " (put it in the spec: encrypted.headerDigest"), r.out());
    }

    @Test
    void refusalsLeaveNothingBehind() throws Exception {
        Path existing = home.resolve("existing.img");
        Files.writeString(existing, "keep");
        CliRun exists = run("volume", "create", existing.toString(), "--size", "64M", "--key", "k-exists", "--policy", policy.toString(), "--integrity", MODE);
        assertEquals(1, exists.exit());
        assertTrue(exists.err().contains("already exists"), exists.err());
        assertEquals("keep", Files.readString(existing));

        Path a = home.resolve("a.img");
        assertEquals(0, run("volume", "create", a.toString(), "--size", "32M", "--key", "taken", "--policy", policy.toString(), "--integrity", MODE).exit());
        Path b = home.resolve("b.img");
        CliRun taken = run("volume", "create", b.toString(), "--size", "32M", "--key", "taken", "--policy", policy.toString(), "--integrity", MODE);
        assertEquals(1, taken.exit());
        assertTrue(taken.err().contains("already exists"), taken.err());
        assertFalse(Files.exists(b));

        Path badPolicy = home.resolve("bad-policy.json");
        Files.writeString(badPolicy, "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"x\",\"allOf\":[{\"claim\":\"c\",\"approximately\":1}]}]}");
        Path c = home.resolve("c.img");
        CliRun refused = run("volume", "create", c.toString(), "--size", "32M", "--key", "bad-policy-key", "--policy", badPolicy.toString(), "--integrity", MODE);
        assertEquals(1, refused.exit(), refused.err());
        assertTrue(refused.err().contains("policy_invalid"), refused.err());
        assertFalse(Files.exists(c), "the volume is removed when the vault refuses its key");

        CliRun size = run("volume", "create", home.resolve("d.img").toString(), "--size", "lots", "--key", "d", "--policy", policy.toString(), "--integrity", MODE);
        assertEquals(2, size.exit());
        assertTrue(size.err().contains("not a size"), size.err());
        CliRun small = run("volume", "create", home.resolve("e.img").toString(), "--size", "8M", "--key", "e", "--policy", policy.toString(), "--integrity", MODE);
        assertEquals(2, small.exit());
        assertTrue(small.err().contains("minimum"), small.err());
        CliRun noPolicy = run("volume", "create", home.resolve("f.img").toString(), "--size", "32M", "--key", "f");
        assertEquals(2, noPolicy.exit());
        CliRun missingPolicy = run("volume", "create", home.resolve("g.img").toString(), "--size", "32M", "--key", "g", "--policy",
                home.resolve("nope.json").toString());
        assertEquals(2, missingPolicy.exit());
        assertTrue(missingPolicy.err().contains("does not exist"), missingPolicy.err());
    }

    @Test
    void helpShowsAnExample() {
        CliRun r = run("volume", "create", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("coffer volume create data.img --size 64M --key data-key"), r.out());
    }
}
