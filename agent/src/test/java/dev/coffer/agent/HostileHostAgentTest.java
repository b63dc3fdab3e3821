package dev.coffer.agent;

import dev.coffer.agent.container.Mounts;
import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerHasher;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hostile host against a real agent process enforcing a generated policy: every request the
 * policy does not allow is refused with its reason and leaves nothing behind (no mount, no
 * bundle, no policy state), and the honest sequence still works afterwards.
 */
class HostileHostAgentTest {
    static final String SPEC = """
            name: pod
            containers:
              - name: web
                image: coffer.test/busybox:1
                command: [httpd, -f, -p, "127.0.0.1:8080", -h, /www]
                env:
                  - name: GREETING
                    value: hi
            # this host has no device-mapper, so the process sandbox's scratch is unencrypted: said here, not assumed
            scratch: {allowUnencrypted: true}
            """;

    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void cleanUp() throws Exception {
        AgentProcess.cleanUp(agent, dir);
    }

    private static GeneratedPolicy policyFor(LayerDisk layer) throws Exception {
        PolicyGenerator generator = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(layer.rootHash()), List.of(),
                List.of("sh"), List.of("PATH=/bin"), "/", ""));
        return generator.generate(GroupPolicyInput.parse(SPEC, "pod.yaml"), false);
    }

    /** A layer the policy does not know: same shape, different content. */
    private LayerDisk strangerLayer() throws Exception {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(tar)) {
            byte[] content = "not in the policy\n".getBytes(StandardCharsets.UTF_8);
            var e = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("evil.txt");
            e.setSize(content.length);
            out.putArchiveEntry(e);
            out.write(content);
            out.closeArchiveEntry();
        }
        return new LayerHasher(dir).buildDisk(new ByteArrayInputStream(tar.toByteArray()), dir.resolve("stranger.disk"));
    }

    private static void assertDenied(Response r, String... reasonParts) {
        assertFalse(r.ok(), "expected a refusal, found success");
        for (String part : reasonParts) {
            assertTrue(r.error().reason().contains(part), "expected \"" + part + "\" in: " + r.error().reason());
        }
    }

    @Test
    void aLaunchBoundToAnotherPolicyRefusesToStart() throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        Path policy = dir.resolve("policy.rego");
        Files.writeString(policy, policyFor(layer).text());
        agent = AgentProcess.start(dir, "pod", "--policy", policy.toString(), "--host-data", "ab".repeat(32));
        assertEquals(2, agent.waitExit());
        assertTrue(agent.output().contains("HOST_DATA") || agent.output().contains("host data"), agent.output());
        assertFalse(Files.exists(agent.socket), "a refused launch serves nothing");
    }

    @Test
    void everyHostileRequestIsRefusedWithoutSideEffects() throws Exception {
        LayerDisk layer = BusyboxRootfs.disk(dir.resolve("layers"));
        GeneratedPolicy policy = policyFor(layer);
        Path policyFile = dir.resolve("policy.rego");
        Files.write(policyFile, policy.bytes());
        // the disks the runtime prepared: the layer, and (changed later by the host) tampered.disk
        agent = AgentProcess.start(dir, "pod", "--policy", policyFile.toString(), "--host-data", policy.sha256(),
                "--layer-disk", layer.file().toAbsolutePath().toString(), "--layer-disk", dir.resolve("tampered.disk").toString(),
                "--layer-disk", dir.resolve("stranger.disk").toString());
        assertTrue(agent.output().contains("enforcer=policy sha256:" + policy.sha256()), agent.output());
        String l0 = agent.state.resolve("devices/l0").toString();
        Path rootfs = agent.state.resolve("containers/web/rootfs");
        List<String> argv = List.of("httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www");
        List<String> env = List.of("PATH=/bin", "GREETING=hi");

        try (AgentClient c = agent.client()) {
            agent.unencryptedScratch(c);
            // a layer the policy does not pin
            LayerDisk stranger = strangerLayer();
            assertDenied(c.exchange(new Request.MountDevice(stranger.file().toString(), l0, stranger.rootHash())),
                    "mount_device denied");
            // the pinned hash, offered for a disk whose content was changed: the agent's own check refuses it
            Path tampered = dir.resolve("tampered.disk");
            Files.copy(layer.file(), tampered);
            try (RandomAccessFile f = new RandomAccessFile(tampered.toFile(), "rw")) {
                f.seek(layer.dataSize() / 2);
                int b = f.read();
                f.seek(layer.dataSize() / 2);
                f.write(b ^ 0x01);
            }
            assertDenied(c.exchange(new Request.MountDevice(tampered.toString(), l0, layer.rootHash())), "root hash");
            // an overlay before its layer is mounted
            assertDenied(c.exchange(new Request.MountOverlay("web", List.of(l0), rootfs.toString())), "mount_overlay denied");
            assertEquals(List.of(), Mounts.mountedUnder(agent.state.resolve("devices")), "no layer mounted after refusals");
            assertEquals(List.of(), Mounts.mountedUnder(agent.state.resolve("containers")), "no overlay after refusals");

            // the honest layer mounts at the same target: the refusals left no policy state behind
            c.call(new Request.MountDevice(layer.file().toString(), l0, layer.rootHash()), Result.Done.class);
            // a second device at a target already in use
            assertDenied(c.exchange(new Request.MountDevice(layer.file().toString(), l0, layer.rootHash())));
            c.call(new Request.MountOverlay("web", List.of(l0), rootfs.toString()), Result.Done.class);

            // altered argv, an extra env var, a changed env value, another working dir, a host-path mount
            assertDenied(c.exchange(create(rootfs, List.of("sh", "-c", "cat /etc/shadow"), env, "/", List.of())),
                    "create_container denied");
            assertDenied(c.exchange(create(rootfs, argv, List.of("PATH=/bin", "GREETING=hi", "LD_PRELOAD=/tmp/x.so"), "/",
                    List.of())), "create_container denied");
            assertDenied(c.exchange(create(rootfs, argv, List.of("PATH=/bin", "GREETING=bye"), "/", List.of())),
                    "create_container denied");
            assertDenied(c.exchange(create(rootfs, argv, env, "/tmp", List.of())), "create_container denied");
            assertDenied(c.exchange(create(rootfs, argv, env, "/",
                    List.of(new Request.Mount("/host", "sandbox:///volumes/secret", "bind", List.of("rbind", "rw"))))));
            assertFalse(Files.exists(agent.state.resolve("containers/web/bundle")), "no bundle for a refused create");

            // the honest create and start work
            c.call(create(rootfs, argv, env, "/", List.of()), Result.ContainerStatus.class);
            c.call(new Request.StartContainer("web"), Result.ContainerStatus.class);
            // the same container again
            assertDenied(c.exchange(create(rootfs, argv, env, "/", List.of())));
            // exec of a command the spec does not list
            assertDenied(c.exchange(new Request.ExecInContainer("web", List.of("sh", "-c", "id"), List.of(), null, 10_000)),
                    "exec_in_container denied");
            // the policy cannot be swapped after launch: properties still name the launch policy
            Result.Properties props = c.call(new Request.GetProperties(), Result.Properties.class);
            assertEquals(policy.sha256(), props.policySha256());
        }
        // every refusal is in the decision log with its reason
        List<String> log = Files.readAllLines(agent.state.resolve(AgentMain.DECISION_LOG));
        long denied = log.stream().filter(l -> l.contains("\"allowed\":false")).distinct().count();
        assertTrue(denied >= 8, "expected the refusals in the decision log, found " + denied + ":\n" + String.join("\n", log));
        assertNotEquals(0, log.size());
    }

    private static Request.CreateContainer create(Path rootfs, List<String> argv, List<String> env, String cwd,
                                                  List<Request.Mount> mounts) {
        return new Request.CreateContainer("web", rootfs.toString(), argv, env, cwd, null, null, mounts, null, true, "pod");
    }
}
