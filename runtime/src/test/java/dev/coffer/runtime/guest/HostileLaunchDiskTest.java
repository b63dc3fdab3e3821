package dev.coffer.runtime.guest;

import dev.coffer.agent.AgentMain;
import dev.coffer.agent.tee.SimLaunchContext;
import dev.coffer.agent.tee.TeeException;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Launch-disk images as a hostile host would write them (the JSON bytes on the disk, not what
 * {@link LaunchDisk#write} would produce), read the way the guest reads its disk, and handed on
 * to a real agent process where the refusal is the agent's. Each is refused naming the field,
 * and nothing is written.
 */
class HostileLaunchDiskTest {
    @TempDir
    Path dir;

    private Path image(String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        byte[] disk = new byte[(bytes.length + 4095) / 4096 * 4096];
        System.arraycopy(bytes, 0, disk, 0, bytes.length);
        Path file = Files.createTempFile(dir, "launch", ".img");
        Files.write(file, disk);
        return file;
    }

    @Test
    void aForeignOciRuntimePathIsRefused() throws Exception {
        for (String runtime : List.of("/tmp/evil/runc", "../usr/bin/crun", "crun --root=/")) {
            IOException e = assertThrows(IOException.class, () -> LaunchDisk.read(image("""
                    {"format": "coffer-launch/v1", "group": "web", "ociRuntime": "%s"}""".formatted(runtime))));
            assertTrue(e.getMessage().contains("ociRuntime to be one of auto|crun|runc") && e.getMessage().contains(runtime),
                    e.getMessage());
        }
        assertEquals("crun", LaunchDisk.read(image("""
                {"format": "coffer-launch/v1", "group": "web", "ociRuntime": "crun"}""")).ociRuntime());
    }

    @Test
    void teeNoneOnADiskThatCarriesTheSimulatedChipIsRefused() throws Exception {
        IOException e = assertThrows(IOException.class, () -> LaunchDisk.read(image("""
                {"format": "coffer-launch/v1", "group": "web", "tee": "none", "launchContext": "{}",
                 "simTee": {"vcek.pem": "eA=="}}""")));
        assertTrue(e.getMessage().contains("tee to be sim when it carries the simulated chip") && e.getMessage().contains("found tee none"),
                e.getMessage());
    }

    @Test
    void simTeeFileNamesThatArePathsAreRefusedAndNothingIsWritten() throws Exception {
        SimulatedSecureProcessor chip = SimulatedSecureProcessor.openOrCreate(dir.resolve("host-chip"));
        Path contextFile = dir.resolve("host-context.json");
        SimLaunchContext.create(chip, "web", new byte[48], new byte[32], contextFile);
        Map<String, String> files = new TreeMap<>();
        for (String name : SimulatedSecureProcessor.FILES) {
            files.put(name, Base64.getEncoder().encodeToString(Files.readAllBytes(chip.directory().resolve(name))));
        }
        Path state = Files.createDirectories(dir.resolve("state"));
        Path chipDir = dir.resolve("run/coffer-sim-tee");

        Map<String, String> hostile = new TreeMap<>(files);
        hostile.put("../../../etc/cron.d/evil", Base64.getEncoder().encodeToString("* * * * * root sh\n".getBytes()));
        Path disk = image(json(hostile, Files.readString(contextFile)));
        LaunchDisk.Content launch = LaunchDisk.read(disk);
        TeeException e = assertThrows(TeeException.class, () -> GuestAgent.launchArguments(launch, state, chipDir));
        assertTrue(e.getMessage().contains("simTee") && e.getMessage().contains("../../../etc/cron.d/evil"), e.getMessage());
        assertFalse(Files.exists(chipDir), "no chip written for a refused disk");
        assertFalse(Files.exists(state.resolve("launch-context.json")));
        assertFalse(Files.exists(dir.resolve("etc")));

        // the honest disk: the chip goes to the fixed directory, and the agent is told to use it
        List<String> args = GuestAgent.launchArguments(LaunchDisk.read(image(json(files, Files.readString(contextFile)))), state, chipDir);
        assertTrue(String.join(" ", args).contains("--tee sim --launch-context " + state.resolve("launch-context.json")
                + " --sim-tee " + chipDir), args.toString());
        for (String name : SimulatedSecureProcessor.FILES) assertTrue(Files.isRegularFile(chipDir.resolve(name)), name);
    }

    private static String json(Map<String, String> simTee, String context) throws IOException {
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = mapper.createObjectNode().put("format", LaunchDisk.FORMAT).put("group", "web").put("tee", "sim")
                .put("launchContext", context);
        var chip = root.putObject("simTee");
        simTee.forEach(chip::put);
        return mapper.writeValueAsString(root);
    }

    @Test
    void aForwardedPortThePolicyDoesNotListIsRefusedByTheAgent() throws Exception {
        GeneratedPolicy policy = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of("cd".repeat(32)), List.of("/bin/app"),
                List.of(), List.of("PATH=/bin"), "/", "")).generate(GroupPolicyInput.parse("""
                name: web
                containers:
                  - name: app
                    image: coffer.test/app:1
                    ports: [8080]
                """, "web.yaml"), false);
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = mapper.createObjectNode().put("format", LaunchDisk.FORMAT).put("group", "web")
                .put("policy", policy.text()).put("hostData", policy.sha256()).put("ociRuntime", "crun");
        // the host forwards 8080, which the policy lists, and 22, which it does not
        root.putObject("network").putArray("ports").add(8080).add(22);
        LaunchDisk.Content launch = LaunchDisk.read(image(mapper.writeValueAsString(root)));
        Path state = Files.createDirectories(dir.resolve("agent-state"));
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), AgentMain.class.getName(),
                "--socket", dir.resolve("agent.sock").toString(), "--state", state.toString()));
        argv.addAll(GuestAgent.launchArguments(launch, state, dir.resolve("chip")));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("launch.forwarded_ports [8080], found 22"), out);
        assertFalse(Files.exists(dir.resolve("agent.sock")), "a refused launch serves nothing");
        assertFalse(Files.exists(state.resolve("containers")), "no container state for a refused launch");
    }
}
