package dev.coffer.agent;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import dev.coffer.agent.volume.EncryptedVolume;
import dev.coffer.agent.volume.ScratchVolume;
import dev.coffer.attest.measure.HostData;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * scratch_mount against a real agent JVM in the process sandbox on this host, which has no
 * device-mapper: encrypted scratch fails and says why (the agent's own check, what
 * {@code dmsetup version} also reports), unencrypted scratch runs only where the policy allows it
 * ({@code allow_unencrypted_scratch}), and every sandbox (the microVM's guest passes
 * {@code --scratch disk}, the process sandbox {@code file} or nothing) refuses a writable layer
 * before it. The encrypted path on a disk runs on a real kernel in MicroVmScratchTest (runtime
 * module); on a file (the process sandbox with device-mapper) here, where the host has dm-crypt.
 */
class ScratchRequestTest {
    static final String LAYER = "6".repeat(64);

    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void stop() throws Exception {
        AgentProcess.cleanUp(agent, dir);
    }

    AgentClient start(boolean allowUnencryptedScratch, String... extra) throws Exception {
        String spec = """
                name: scratchy
                containers:
                  - name: app
                    image: app:1
                """;
        String policy = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(LAYER), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "0")).generate(GroupPolicyInput.parse(spec, "scratchy.yaml"), false).text();
        assertTrue(policy.contains("allow_unencrypted_scratch := false\n"), "generated policies require encrypted scratch");
        if (allowUnencryptedScratch) policy = policy.replace("allow_unencrypted_scratch := false\n", "allow_unencrypted_scratch := true\n");
        Path policyFile = dir.resolve("policy.rego");
        Files.writeString(policyFile, policy);
        List<String> args = new java.util.ArrayList<>(List.of("--policy", policyFile.toString(), "--host-data",
                HexFormat.of().formatHex(HostData.ofPolicy(policy.getBytes(StandardCharsets.UTF_8)))));
        args.addAll(List.of(extra));
        agent = AgentProcess.start(dir, "scratchy", args.toArray(String[]::new));
        assertTrue(agent.process.isAlive(), agent.output());
        return agent.client();
    }

    String target() {
        return dir.resolve("state").toAbsolutePath().resolve("scratch").toString();
    }

    @Test
    void withoutDeviceMapperEncryptedScratchFailsAndUnencryptedIsThePolicysCall() throws Exception {
        Assumptions.assumeTrue(ScratchVolume.fileUnavailableReason() != null,
                "this host has device-mapper and loop devices; encryptedScratchOnAFileWhereTheHostHasDeviceMapper covers it");
        try (AgentClient client = start(false)) {
            Response r = client.exchange(new Request.ScratchMount(target(), true));
            assertFalse(r.ok());
            assertEquals(Response.Failure.FAILED, r.error().code(), r.error().reason());
            String reason = r.error().reason();
            assertTrue(reason.contains("cannot make encrypted scratch in this sandbox"), reason);
            assertTrue(reason.contains("device-mapper") && reason.contains(ScratchVolume.fileUnavailableReason()), reason);
            assertTrue(reason.contains("allow_unencrypted_scratch") && reason.contains("--isolation microvm"), reason);
            // rolled back: the policy state records no scratch, so asking again fails the same way, not "already mounted"
            Response again = client.exchange(new Request.ScratchMount(target(), true));
            assertEquals(Response.Failure.FAILED, again.error().code(), again.error().reason());
            // the fallback the host may try: this policy does not allow it
            Response plain = client.exchange(new Request.ScratchMount(target(), false));
            assertEquals(Response.Failure.DENIED, plain.error().code(), plain.error().reason());
            assertTrue(plain.error().reason().contains("unencrypted scratch is not allowed"), plain.error().reason());
            assertFalse(Files.exists(Path.of(target())), "nothing was made");
            client.call(new Request.Ping(), Result.Done.class);
        }
    }

    @Test
    void unencryptedScratchWhereThePolicyAllowsItIsTheStateDirectoryOnce() throws Exception {
        Assumptions.assumeTrue(!ScratchVolume.isScratchDisk(ScratchVolume.diskPath()), "this host has a disk named like a microVM's scratch");
        try (AgentClient client = start(true)) {
            // the agent's own place only, whatever the policy allows
            Response elsewhere = client.exchange(new Request.ScratchMount(dir.resolve("state/devices/x").toString(), false));
            assertEquals(Response.Failure.INVALID_REQUEST, elsewhere.error().code(), elsewhere.error().reason());
            assertTrue(elsewhere.error().reason().contains("expected the scratch_mount target " + target()), elsewhere.error().reason());
            client.call(new Request.ScratchMount(target(), false), Result.Done.class);
            assertTrue(agent.output().contains("scratch unencrypted, in the agent's state directory"), agent.output());
            Response twice = client.exchange(new Request.ScratchMount(target(), false));
            assertFalse(twice.ok());
            assertTrue(twice.error().reason().contains("scratch already mounted") || twice.error().reason().contains("sent once"),
                    twice.error().reason());
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "--scratch {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"(none)", "file", "disk"})
    void everySandboxRefusesAWritableLayerOrVolumeBeforeScratch(String scratchFlag) throws Exception {
        // allow-all, so the agent's own rule is what refuses (a policy refuses a layer that is not mounted first):
        // a host that skips scratch_mount gets no container, whatever the sandbox and whatever the policy
        List<String> args = new java.util.ArrayList<>(List.of("--policy", "allow-all"));
        if (!scratchFlag.equals("(none)")) args.addAll(List.of("--scratch", scratchFlag));
        agent = AgentProcess.start(dir, "scratchy", args.toArray(String[]::new));
        try (AgentClient client = agent.client()) {
            String state = dir.resolve("state").toAbsolutePath().toString();
            Response r = client.exchange(new Request.MountOverlay("app", List.of(state + "/devices/l0"), state + "/containers/app/rootfs"));
            assertFalse(r.ok());
            assertEquals(Response.Failure.CONFLICT, r.error().code(), r.error().reason());
            assertTrue(r.error().reason().contains("expected scratch_mount before the writable layer of app"), r.error().reason());
            assertTrue(r.error().reason().contains("encrypted: true"), r.error().reason());
            assertFalse(Files.exists(Path.of(state, "containers", "app")), "nothing was made for the container");
            // nor a container on a rootfs the host made itself: create_container needs the overlay the agent mounted
            Response create = client.exchange(new Request.CreateContainer("app", state + "/containers/app/rootfs", List.of("/bin/app"),
                    List.of("PATH=/bin"), "/", null, null, List.of(new Request.Mount("/data", "sandbox:///volumes/data", "bind",
                    List.of("rbind", "rshared", "rw"))), null, true, "scratchy"));
            assertFalse(create.ok(), "no container without scratch");
            assertFalse(Files.exists(Path.of(state, "volumes", "data")), "no emptyDir was made on the host");
            assertFalse(Files.exists(Path.of(state, "containers", "app")), "nothing was made for the container");
        }
    }

    @Test
    void encryptedScratchOnAFileWhereTheHostHasDeviceMapper() throws Exception {
        String missing = ScratchVolume.fileUnavailableReason();
        Assumptions.assumeTrue(missing == null, "skipped: this host cannot make encrypted scratch for the process sandbox: " + missing);
        Path state = dir.resolve("state").toAbsolutePath();
        String mapper = ScratchVolume.mapperNameFor("scratchy");
        try (AgentClient client = start(false)) {
            client.call(new Request.ScratchMount(target(), true), Result.Done.class);
            assertTrue(agent.output().contains("scratch encrypted"), agent.output());
            assertTrue(Files.exists(Path.of("/dev/mapper", mapper)), "the group's own mapping");
            // what the kernel does: authenticated XTS (crypt over integrity), not what was asked
            String table = new String(new ProcessBuilder("dmsetup", "table", mapper).redirectErrorStream(true).start()
                    .getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(table.contains("crypt") && table.contains("aes-xts-plain64") && table.contains("integrity:"), table);
            // the writable layers go on it: a marker written there is not on the host's disk in clear
            Path upperDir = state.resolve("containers").resolve("marker");
            Files.createDirectories(upperDir);
            byte[] marker = ("coffer-scratch-marker-" + System.nanoTime()).getBytes(StandardCharsets.UTF_8);
            Files.writeString(upperDir.resolve("secret"), (new String(marker, StandardCharsets.UTF_8) + "\n").repeat(64));
            new ProcessBuilder("sync").start().waitFor();
            byte[] image = Files.readAllBytes(state.resolve(dev.coffer.agent.container.ContainerService.SCRATCH_FILE));
            assertFalse(new String(image, StandardCharsets.ISO_8859_1).contains(new String(marker, StandardCharsets.ISO_8859_1)),
                    "the scratch file holds only ciphertext");
            client.exchange(new Request.ShutdownSandbox(1000));
        }
        assertEquals(0, agent.waitExit(), agent.output());
        assertFalse(Files.exists(Path.of("/dev/mapper", mapper)), "shutdown closed the mapping, dropping the key");
        assertFalse(Files.exists(state.resolve(dev.coffer.agent.container.ContainerService.SCRATCH_FILE)), "and removed the file");
    }

    @Test
    void aBadScratchFlagIsRefusedAtStart() throws Exception {
        agent = AgentProcess.start(dir, "scratchy", "--policy", "allow-all", "--scratch", "sometimes");
        assertEquals(2, agent.waitExit());
        assertTrue(agent.output().contains("expected --scratch disk (the sandbox's scratch disk) or file (a file in the state"
                + " directory), found \"sometimes\""), agent.output());
    }
}
