package dev.coffer.agent;

import com.sun.net.httpserver.HttpServer;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.agent.tee.SimLaunchContext;
import dev.coffer.agent.volume.EncryptedVolume;
import dev.coffer.agent.volume.Luks2Header;
import dev.coffer.agent.volume.VolumeIntegrity;
import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mount_encrypted_volume against a real agent JVM with a generated policy and the simulated TEE:
 * the policy gates it (hostile host variants are denied), and a sandbox without dm-crypt refuses
 * it with a clear error before any key is asked for, changing no policy state.
 */
class EncryptedVolumeRequestTest {
    static final String LAYER = "5".repeat(64);

    @TempDir
    static Path chipHome;
    static SimulatedSecureProcessor chip;

    @TempDir
    Path dir;
    AgentProcess agent;
    HttpServer endpoints;
    final AtomicInteger endpointCalls = new AtomicInteger();

    @BeforeAll
    static void chip() {
        chip = SimulatedSecureProcessor.openOrCreate(chipHome.resolve("sim-tee"));
    }

    @AfterEach
    void stop() throws Exception {
        AgentProcess.cleanUp(agent, dir);
        if (endpoints != null) endpoints.stop(0);
    }

    /** A stand-in attestation service and vault that only counts calls: this host must never reach it. */
    String countingEndpoint() throws Exception {
        endpoints = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        endpoints.createContext("/", exchange -> {
            endpointCalls.incrementAndGet();
            exchange.sendResponseHeaders(500, -1);
            exchange.close();
        });
        endpoints.start();
        return "http://127.0.0.1:" + endpoints.getAddress().getPort();
    }

    AgentClient start(String endpoint, String headerDigest, String integrity) throws Exception {
        String spec = """
                name: keeper
                containers:
                  - name: app
                    image: app:1
                    volumeMounts: [{name: secrets, mountPath: /secrets}]
                volumes:
                  - name: secrets
                    encrypted: {source: secrets.img, key: secrets-key, authority: "%s", vault: "%s", headerDigest: %s, integrity: %s}
                """.formatted(endpoint, endpoint, headerDigest, integrity);
        String policy = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(LAYER), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "0")).generate(GroupPolicyInput.parse(spec, "keeper.yaml"), false).text();
        Path policyFile = dir.resolve("policy.rego");
        Files.writeString(policyFile, policy);
        Path context = dir.resolve("launch-context.json");
        SimLaunchContext.create(chip, "keeper", new byte[48], HostData.ofPolicy(policy.getBytes(StandardCharsets.UTF_8)), context);
        agent = AgentProcess.start(dir, "keeper", "--policy", policyFile.toString(), "--tee", "sim",
                "--launch-context", context.toString());
        assertTrue(agent.process.isAlive(), agent.output());
        return agent.client();
    }

    Path volume() {
        Path file = dir.resolve("secrets.img");
        byte[] key = new byte[32];
        java.util.Arrays.fill(key, (byte) 7);
        // plain XTS: what this host (no device-mapper) can make; the policies below pin integrity: none for it
        EncryptedVolume.create(file, 32L << 20, key, VolumeIntegrity.NONE);
        return file;
    }

    static Request.MountEncryptedVolume request(String name, String source, String key, String authority, String vault,
                                                boolean readOnly, String digest, String integrity, Path image) {
        return new Request.MountEncryptedVolume(name, source, key, authority, vault, readOnly, digest, integrity, image.toString());
    }

    @Test
    void withoutDmCryptTheRequestFailsClearlyBeforeTheKeyIsAskedFor() throws Exception {
        Assumptions.assumeTrue(EncryptedVolume.unavailableReason() != null, "this host has dm-crypt; the microVM tests cover it");
        String endpoint = countingEndpoint();
        Path image = volume();
        String digest = Luks2Header.read(image).digest();
        try (AgentClient client = start(endpoint, digest, "none")) {
            Request.MountEncryptedVolume honest = request("secrets", "secrets.img", "secrets-key", endpoint, endpoint, false,
                    digest, "none", image);
            Response r = client.exchange(honest);
            assertFalse(r.ok());
            assertEquals(Response.Failure.FAILED, r.error().code(), r.error().reason());
            assertTrue(r.error().reason().contains("cannot open encrypted volume secrets in this sandbox"), r.error().reason());
            assertTrue(r.error().reason().contains("device-mapper"), r.error().reason());
            assertTrue(r.error().reason().contains("--isolation microvm"), r.error().reason());
            assertEquals(0, endpointCalls.get(), "the key must not be requested by a sandbox that cannot open the volume");
            // rolled back: the same request is allowed again (and fails the same way), not "already open"
            Response again = client.exchange(honest);
            assertEquals(Response.Failure.FAILED, again.error().code(), again.error().reason());
            assertFalse(again.error().reason().contains("already open"), again.error().reason());
            client.call(new Request.Ping(), Result.Done.class);
        }
    }

    @Test
    void hostileHostRequestsAreDenied() throws Exception {
        String endpoint = countingEndpoint();
        Path image = volume();
        String digest = Luks2Header.read(image).digest();
        try (AgentClient client = start(endpoint, digest, "none")) {
            List<Request.MountEncryptedVolume> hostile = List.of(
                    request("other", "secrets.img", "secrets-key", endpoint, endpoint, false, digest, "none", image),
                    request("secrets", "secrets.img", "other-key", endpoint, endpoint, false, digest, "none", image),
                    request("secrets", "/etc/shadow", "secrets-key", endpoint, endpoint, false, digest, "none", image),
                    request("secrets", "secrets.img", "secrets-key", "http://127.0.0.1:1", endpoint, false, digest, "none", image),
                    request("secrets", "secrets.img", "secrets-key", endpoint, endpoint, true, digest, "none", image),
                    request("secrets", "secrets.img", "secrets-key", endpoint, endpoint, false, "0".repeat(64), "none", image),
                    request("secrets", "secrets.img", "secrets-key", endpoint, endpoint, false, digest, "hmac-sha256", image),
                    request("secrets", "secrets.img", "secrets-key", "", "", false, digest, "none", image));
            for (Request.MountEncryptedVolume h : hostile) {
                Response r = client.exchange(h);
                assertFalse(r.ok(), h.toString());
                assertEquals(Response.Failure.DENIED, r.error().code(), h + ": " + r.error().reason());
                assertTrue(r.error().reason().contains("mount_encrypted_volume"), r.error().reason());
            }
            assertEquals(0, endpointCalls.get());
        }
    }

    /**
     * The host swaps in the null-cipher edit of the genuine header (CVE-2025-59054) behind an honest
     * request: the agent refuses it by its own reading of the header, before it asks for the key or
     * maps anything, and says what it expected and found.
     */
    @Test
    void aNullCipherHeaderIsRefusedBeforeTheKeyIsAskedFor() throws Exception {
        String endpoint = countingEndpoint();
        Path image = volume();
        String digest = Luks2Header.read(image).digest();
        dev.coffer.agent.volume.Luks2HeaderTest.editJson(image, j -> j.replace("\"encryption\":\"aes-xts-plain64\",\"sector_size\"",
                "\"encryption\":\"cipher_null-ecb\",\"sector_size\""), true, true);
        byte[] before = Files.readAllBytes(image);
        try (AgentClient client = start(endpoint, digest, "none")) {
            Response r = client.exchange(request("secrets", "secrets.img", "secrets-key", endpoint, endpoint, false, digest, "none", image));
            assertFalse(r.ok());
            assertEquals(Response.Failure.FAILED, r.error().code(), r.error().reason());
            assertTrue(r.error().reason().contains("refused encrypted volume secrets: LUKS2 header of " + image), r.error().reason());
            assertTrue(r.error().reason().contains("expected the header the policy pins (sha256 " + digest + ")"), r.error().reason());
            assertEquals(0, endpointCalls.get(), "no key is asked for a header that is not the pinned one");
            assertArrayEquals(before, Files.readAllBytes(image));
            try (var paths = Files.walk(dir)) {
                assertTrue(paths.noneMatch(p -> p.endsWith(Path.of("encrypted", "secrets"))), "no mount point prepared");
            }
            client.call(new Request.Ping(), Result.Done.class);
        }
    }
    /**
     * format_encrypted_volume from a hostile host: a group's generated policy never allows it (the
     * framework denies it and policy gen binds no rule), so a group's disk is never formatted; the
     * key it carries never reaches the decision log or a message; and even the allow-all sandbox a
     * volume create launches formats only an attached disk, never a file in the process sandbox.
     */
    @Test
    void formattingIsRefusedToGroupsAndTheKeyIsNeverLogged() throws Exception {
        String endpoint = countingEndpoint();
        Path image = volume();
        String digest = Luks2Header.read(image).digest();
        byte[] before = Files.readAllBytes(image);
        String key = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString("K3Y-MUST-NEVER-BE-LOGGED-0123456".getBytes());
        Request.FormatEncryptedVolume format = new Request.FormatEncryptedVolume(key, "hmac-sha256");
        assertFalse(format.toString().contains(key), format.toString());
        try (AgentClient client = start(endpoint, digest, "none")) {
            Response r = client.exchange(format);
            assertFalse(r.ok());
            assertEquals(Response.Failure.DENIED, r.error().code(), r.error().reason());
            assertTrue(r.error().reason().contains("format_encrypted_volume"), r.error().reason());
            assertTrue(r.error().reason().contains("never a group's"), r.error().reason());
            assertFalse(r.error().reason().contains(key));
            client.call(new Request.Ping(), Result.Done.class);
        }
        assertArrayEquals(before, Files.readAllBytes(image), "nothing was formatted");
        // every file the agent wrote (its decision log among them); kernel files bound into its state cannot be read and hold nothing of ours
        List<Path> read = new java.util.ArrayList<>();
        try (var files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().endsWith(".img")).toList()) {
                String text;
                try {
                    text = Files.readString(f, StandardCharsets.ISO_8859_1);
                } catch (java.io.IOException unreadable) {
                    continue;
                }
                assertFalse(text.contains(key), "the key reached " + f);
                if (f.endsWith(AgentMain.DECISION_LOG)) assertTrue(text.contains("format_encrypted_volume"), "the refusal is logged: " + text);
                read.add(f.getFileName());
            }
        }
        assertTrue(read.contains(Path.of(AgentMain.DECISION_LOG).getFileName()), "the decision log was checked: " + read);
        assertFalse(agent.output().contains(key), "the key reached the agent's output");
        AgentProcess.cleanUp(agent, dir);
        agent = null;

        Path allowAll = Files.createDirectories(dir.resolve("allow-all"));
        agent = AgentProcess.start(allowAll, "creator", "--policy", "allow-all");
        try (AgentClient client = agent.client()) {
            Response r = client.exchange(format);
            assertEquals(Response.Failure.INVALID_REQUEST, r.error().code(), r.error().reason());
            assertTrue(r.error().reason().contains("expected a sandbox with attached disks (the microVM) for format_encrypted_volume"),
                    r.error().reason());
            Response bad = client.exchange(new Request.FormatEncryptedVolume(key, "crc32c"));
            assertTrue(bad.error().reason().contains("expected a volume integrity of"), bad.error().reason());
        }
        assertArrayEquals(before, Files.readAllBytes(image), "nothing was formatted");
    }
}
