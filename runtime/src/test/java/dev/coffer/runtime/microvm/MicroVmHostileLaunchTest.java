package dev.coffer.runtime.microvm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.agent.tee.SimLaunchContext;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.runtime.guest.GuestBuilder;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.guest.LaunchDisk;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile launch disks against the real guest under TCG: the host writes the disk's bytes
 * itself, the guest boots, reads it, refuses it naming the field, and powers off without ever
 * serving the agent port. One boot per case.
 */
class MicroVmHostileLaunchTest {
    @TempDir
    static Path shared;
    static GuestImage guest;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void buildGuest() throws Exception {
        guest = new GuestBuilder(shared.resolve("guest"), step -> { }).build();
    }

    /** Boots the guest with {@code disk} as its launch disk; returns the console once the guest has powered off. */
    private String bootWith(ObjectNode disk, String name) throws Exception {
        byte[] json = JSON.writeValueAsBytes(disk);
        byte[] image = new byte[(json.length + 4095) / 4096 * 4096];
        System.arraycopy(json, 0, image, 0, json.length);
        Path runDir = Files.createDirectories(tmp.resolve(name));
        Path file = runDir.resolve("launch.img");
        Files.write(file, image);
        MicroVm.Config config = MicroVm.Config.forAgent(guest, runDir, Accelerator.TCG)
                .withDisks(List.of(new MicroVm.Disk(file, LaunchDisk.SERIAL, true)));
        try (MicroVm vm = MicroVm.start(config, Duration.ofSeconds(600))) {
            assertTrue(vm.awaitExit(Duration.ofSeconds(600)), "the guest powers off after refusing: " + vm.consoleTail());
            String console = Files.readString(vm.consoleLog(), StandardCharsets.UTF_8);
            assertFalse(console.contains("COFFER-INIT agent-listening"), "a refused launch serves nothing:\n" + console);
            assertTrue(console.contains("COFFER-INIT agent-exited status=2"), console);
            return console;
        }
    }

    private static ObjectNode disk() {
        return JSON.createObjectNode().put("format", LaunchDisk.FORMAT).put("group", "web");
    }

    @Test
    void hostileLaunchDisksAreRefusedByTheGuestNamingTheField() throws Exception {
        // a foreign OCI runtime binary
        String runtime = bootWith(disk().put("ociRuntime", "/dev/disk/by-id/virtio-evil/runc"), "runtime");
        assertTrue(runtime.contains("ociRuntime to be one of auto|crun|runc"), runtime);

        // tee none on a disk that carries the simulated chip
        SimulatedSecureProcessor chip = SimulatedSecureProcessor.openOrCreate(tmp.resolve("chip"));
        Path context = tmp.resolve("context.json");
        SimLaunchContext.create(chip, "web", guest.measurement().compute(), new byte[32], context);
        ObjectNode noTee = disk().put("tee", "none").put("launchContext", Files.readString(context));
        ObjectNode files = noTee.putObject("simTee");
        for (String f : SimulatedSecureProcessor.FILES) {
            files.put(f, Base64.getEncoder().encodeToString(Files.readAllBytes(chip.directory().resolve(f))));
        }
        String none = bootWith(noTee, "tee-none");
        assertTrue(none.contains("tee to be sim when it carries the simulated chip"), none);

        // a simulated-chip file named by a path outside the fixed directory
        ObjectNode traversal = disk().put("tee", "sim").put("launchContext", Files.readString(context));
        traversal.set("simTee", files.deepCopy().put("../../etc/init.d/rcS", Base64.getEncoder().encodeToString(
                "#!/bin/sh\necho owned\n".getBytes(StandardCharsets.UTF_8))));
        String path = bootWith(traversal, "sim-path");
        assertTrue(path.contains("simTee") && path.contains("../../etc/init.d/rcS") && path.contains("refusing the launch disk"), path);

        // a forwarded port the policy does not list
        GeneratedPolicy policy = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of("cd".repeat(32)), List.of("/bin/app"),
                List.of(), List.of("PATH=/bin"), "/", "")).generate(GroupPolicyInput.parse("""
                name: web
                containers:
                  - name: app
                    image: coffer.test/app:1
                    ports: [8080]
                """, "web.yaml"), false);
        ObjectNode port = disk().put("policy", policy.text()).put("hostData", policy.sha256()).put("ociRuntime", "crun");
        port.putObject("network").putArray("ports").add(8080).add(22);
        String forwarded = bootWith(port, "port");
        assertTrue(forwarded.contains("launch.forwarded_ports [8080], found 22"), forwarded);
    }
}
