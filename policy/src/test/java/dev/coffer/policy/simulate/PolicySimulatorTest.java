package dev.coffer.policy.simulate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.gen.PolicyDocument;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.RegoPolicyWriter;
import dev.coffer.policy.gen.DefaultCapabilities;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicySimulatorTest {
    static final String L0 = "0".repeat(63) + "1";
    static final String L1 = "0".repeat(63) + "2";

    static String policy() {
        PolicyDocument.Container c = new PolicyDocument.Container("img:1", "app", List.of(L0, L1), List.of("/app"),
                List.of(new PolicyDocument.EnvRule("PATH=/bin", "string", true)), "/", List.of(), List.of(), List.of(15),
                new PolicyDocument.User(new PolicyDocument.IdName("", "any"), List.of(new PolicyDocument.IdName("", "any")), "0022"),
                DefaultCapabilities.forContainer(false), "", false, true, false);
        return RegoPolicyWriter.write(new PolicyDocument(PolicyGenerator.API_VERSION, PolicyGenerator.FRAMEWORK_VERSION, false,
                List.of(c), List.of(), new PolicyDocument.Flags(true, false, false, false, false, false)));
    }

    static JsonNode json(String s) throws Exception {
        return new ObjectMapper().readTree(s);
    }

    @Test
    void replaysDecisionsWithRollbackOnHostFailure() throws Exception {
        JsonNode commands = json("""
                [
                  {"rule": "mount_device", "input": {"target": "/run/coffer/layers/a", "deviceHash": "%s"}},
                  {"rule": "mount_device", "input": {"target": "/run/coffer/layers/b", "deviceHash": "%s"}, "hostResult": "fail"},
                  {"rule": "mount_overlay", "input": {"containerID": "c1", "layerPaths": ["/run/coffer/layers/b", "/run/coffer/layers/a"], "target": "/run/coffer/rootfs/c1"}},
                  {"rule": "mount_device", "input": {"target": "/run/coffer/layers/b", "deviceHash": "%s"}},
                  {"rule": "mount_overlay", "input": {"containerID": "c1", "layerPaths": ["/run/coffer/layers/b", "/run/coffer/layers/a"], "target": "/run/coffer/rootfs/c1"}},
                  {"rule": "get_properties"}
                ]
                """.formatted(L0, L1, L1));
        List<SimulationStep> steps = PolicySimulator.run(policy(), commands, EnforcerOptions.defaults());
        assertEquals(List.of("committed", "rolled-back", "denied", "committed", "committed", "committed"),
                steps.stream().map(SimulationStep::outcome).toList());
        assertFalse(steps.get(1).stateAfter().path("devices").has("/run/coffer/layers/b"), "failed host op rolled back");
        assertTrue(steps.get(2).decision().reason().contains("no mounted device"), steps.get(2).decision().reason());
        assertEquals(1, steps.get(4).stateAfter().path("matches").path("c1").size());
    }

    @Test
    void acceptsStepsObjectForm() throws Exception {
        List<SimulationStep> steps = PolicySimulator.run(policy(), json("{\"steps\": [{\"rule\": \"dump_stacks\"}]}"),
                EnforcerOptions.defaults());
        assertEquals("denied", steps.getFirst().outcome());
    }

    @Test
    void malformedCommandsReplayNothingAndNameTheStep() throws Exception {
        var e1 = assertThrows(IllegalArgumentException.class, () -> PolicySimulator.run(policy(),
                json("[{\"rule\": \"get_properties\"}, {\"rule\": \"mount_device\", \"input\": {\"target\": \"/x\"}}]"),
                EnforcerOptions.defaults()));
        assertEquals("step 2: invalid mount_device input: missing field 'deviceHash'", e1.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> PolicySimulator.run(policy(),
                json("[{\"rule\": \"format_disk\"}]"), EnforcerOptions.defaults()));
        assertTrue(e2.getMessage().startsWith("step 1: unknown enforcement point 'format_disk'"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> PolicySimulator.run(policy(),
                json("[{\"rule\": \"mount_device\", \"input\": {\"target\": \"/x\", \"deviceHash\": \"a\", \"mountPathRegex\": \".*\"}}]"),
                EnforcerOptions.defaults()));
        assertTrue(e3.getMessage().contains("mountPathRegex"), "host cannot supply agent-only fields: " + e3.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PolicySimulator.run(policy(), json("42"), EnforcerOptions.defaults()));
        assertThrows(IllegalArgumentException.class, () -> PolicySimulator.run(policy(),
                json("[{\"rule\": \"get_properties\", \"hostResult\": \"maybe\"}]"), EnforcerOptions.defaults()));
    }
}
