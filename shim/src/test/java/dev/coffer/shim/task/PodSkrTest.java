package dev.coffer.shim.task;

import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A pod's SKR API comes from its policy's launch object, never from the host: exactly what it pins, or none. */
class PodSkrTest {
    static final String LAYER = "cd".repeat(32);
    /** The spec the shim makes for a pod's sandbox task: the pause container alone, no skr section. */
    static final String SANDBOX = """
            name: pod-group
            containers:
              - name: pause
                image: registry.example/pause:1
                command: [sleep, "2147483647"]
            """;

    private static String policy(String spec) throws Exception {
        return new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(LAYER), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "")).generate(GroupPolicyInput.parse(spec, "pod.yaml"), false).text();
    }

    @Test
    void aPolicyThatPinsAnSkrApiGetsExactlyThatOne() throws Exception {
        String text = policy(SANDBOX + "skr: {port: 8081, endpoints: [\"https://vault.example:8443\", \"http://127.0.0.1:8400\"]}\n");
        GroupSpec sandbox = GroupSpecParser.parse(SANDBOX, "config.json");
        GroupSpec launched = PodSkr.withPolicySkr(sandbox, text);
        assertTrue(launched.skr().declared() && launched.skr().enabled(), launched.skr().toString());
        assertEquals(8081, launched.skr().port());
        assertEquals(List.of("https://vault.example:8443", "http://127.0.0.1:8400"), launched.skr().endpoints());
        // the containers and the rest of the sandbox's spec are the shim's, unchanged
        assertEquals(sandbox.containers(), launched.containers());
        assertEquals(sandbox.name(), launched.name());
    }

    @Test
    void aPolicyWithoutAnSkrApiGetsNone() throws Exception {
        GroupSpec sandbox = GroupSpecParser.parse(SANDBOX, "config.json");
        String text = policy(SANDBOX);
        assertFalse(text.contains("skr_port"), text);
        assertSame(sandbox, PodSkr.withPolicySkr(sandbox, text));
        // allow-all and generate pods carry no Rego text: no SKR API either
        assertSame(sandbox, PodSkr.withPolicySkr(sandbox, ""));
        assertSame(sandbox, PodSkr.withPolicySkr(sandbox, null));
        // forwarded ports alone (a launch object without skr_port) give no SKR API
        String ports = policy(SANDBOX.replace("command: [sleep, \"2147483647\"]", "command: [sleep, \"2147483647\"]\n    ports: [8080]"));
        assertTrue(ports.contains("forwarded_ports"), ports);
        assertSame(sandbox, PodSkr.withPolicySkr(sandbox, ports));
    }

    @Test
    void aMalformedOrUncompilablePolicyIsRefusedWithTheReason() throws Exception {
        GroupSpec sandbox = GroupSpecParser.parse(SANDBOX, "config.json");
        String base = policy(SANDBOX);
        String malformed = base.replace("fragments := []", "fragments := []\n\nlaunch := {\"skr_port\": \"8081\"}");
        IOException e = assertThrows(IOException.class, () -> PodSkr.withPolicySkr(sandbox, malformed));
        assertTrue(e.getMessage().contains("the pod's policy does not load") && e.getMessage().contains("launch.skr_port as an integer"),
                e.getMessage());
        IOException broken = assertThrows(IOException.class,
                () -> PodSkr.withPolicySkr(sandbox, "package policy\nlaunch := {\"skr_port\": 8081\n"));
        assertTrue(broken.getMessage().contains("the pod's policy does not load"), broken.getMessage());
    }
}
