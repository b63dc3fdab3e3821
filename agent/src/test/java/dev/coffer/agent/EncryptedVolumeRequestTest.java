package dev.coffer.agent;

import com.sun.net.httpserver.HttpServer;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.agent.tee.SimLaunchContext;
import dev.coffer.agent.volume.EncryptedVolume;
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

    AgentClient start(String endpoint) throws Exception {
        String spec = """
                name: keeper
                containers:
                  - name: app
                    image: app:1
                    volumeMounts: [{name: secrets, mountPath: /secrets}]
                volumes:
                  - name: secrets
                    encrypted: {source: secrets.img, key: secrets-key, authority: "%s", vault: "%s"}
                """.formatted(endpoint, endpoint);
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
        EncryptedVolume.create(file, 32L << 20, key);
        return file;
    }

    @Test
    void withoutDmCryptTheRequestFailsClearlyBeforeTheKeyIsAskedFor() throws Exception {
        Assumptions.assumeTrue(EncryptedVolume.unavailableReason() != null, "this host has dm-crypt; the microVM tests cover it");
        String endpoint = countingEndpoint();
        Path image = volume();
        try (AgentClient client = start(endpoint)) {
            Request.MountEncryptedVolume honest = new Request.MountEncryptedVolume("secrets", "secrets.img", "secrets-key",
                    endpoint, endpoint, false, image.toString());
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
        try (AgentClient client = start(endpoint)) {
            List<Request.MountEncryptedVolume> hostile = List.of(
                    new Request.MountEncryptedVolume("other", "secrets.img", "secrets-key", endpoint, endpoint, false, image.toString()),
                    new Request.MountEncryptedVolume("secrets", "secrets.img", "other-key", endpoint, endpoint, false, image.toString()),
                    new Request.MountEncryptedVolume("secrets", "/etc/shadow", "secrets-key", endpoint, endpoint, false, image.toString()),
                    new Request.MountEncryptedVolume("secrets", "secrets.img", "secrets-key", "http://127.0.0.1:1", endpoint, false,
                            image.toString()),
                    new Request.MountEncryptedVolume("secrets", "secrets.img", "secrets-key", endpoint, endpoint, true, image.toString()));
            for (Request.MountEncryptedVolume h : hostile) {
                Response r = client.exchange(h);
                assertFalse(r.ok(), h.toString());
                assertEquals(Response.Failure.DENIED, r.error().code(), h + ": " + r.error().reason());
                assertTrue(r.error().reason().contains("mount_encrypted_volume"), r.error().reason());
            }
            assertEquals(0, endpointCalls.get());
        }
    }
}
