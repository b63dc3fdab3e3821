package dev.coffer.policy.model;

import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.enforce.PolicyLoadException;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The policy's launch object: generated from the spec's ports and skr section, read back by the enforcer. */
class LaunchSettingsTest {
    static final String LAYER = "ab".repeat(32);

    private static GeneratedPolicy generate(String spec) throws Exception {
        return new PolicyGenerator(ref -> new ResolvedImage(ref, List.of(LAYER), List.of("/bin/app"), List.of(),
                List.of("PATH=/bin"), "/", "")).generate(GroupPolicyInput.parse(spec, "spec.yaml"), false);
    }

    @Test
    void declaredPortsAndTheSkrApiArePinnedByThePolicy() throws Exception {
        GeneratedPolicy policy = generate("""
                name: shop
                skr: {port: 9000, endpoints: ["http://127.0.0.1:8400"]}
                containers:
                  - name: web
                    image: registry.example/web:1
                    ports: [{containerPort: 8080}, {containerPort: 8443, protocol: TCP}, {containerPort: 5353, protocol: UDP}]
                  - name: side
                    image: registry.example/web:1
                    ports: [8080]
                """);
        assertTrue(policy.text().contains("launch := {\n    \"forwarded_ports\": [8080, 8443],\n    \"skr_port\": 9000,\n"
                + "    \"skr_endpoints\": [\"http://127.0.0.1:8400\"]\n}\n"), policy.text());
        LaunchSettings read = PolicyEnforcer.load(policy.text()).launchSettings().orElseThrow();
        assertEquals(new LaunchSettings(List.of(8080, 8443), 9000, List.of("http://127.0.0.1:8400")), read);
        assertTrue(PolicyEnforcer.allowAll().launchSettings().isEmpty(), "allow-all pins nothing");
    }

    @Test
    void aGroupThatDeclaresNoneKeepsItsPolicyBytesAndPinsNothing() throws Exception {
        GeneratedPolicy policy = generate("""
                name: quiet
                containers:
                  - name: web
                    image: registry.example/web:1
                """);
        assertFalse(policy.text().contains("launch :="), policy.text());
        assertEquals(LaunchSettings.NONE, PolicyEnforcer.load(policy.text()).launchSettings().orElseThrow());
    }

    @Test
    void aMalformedLaunchObjectDoesNotLoad() throws Exception {
        String base = generate("""
                name: quiet
                containers:
                  - name: web
                    image: registry.example/web:1
                """).text();
        String[][] cases = {
                {"launch := {\"forwarded_ports\": [\"8080\"]}", "launch.forwarded_ports of integers"},
                {"launch := {\"forwarded_ports\": [70000]}", "launch.forwarded_ports in 1..65535, found 70000"},
                {"launch := {\"relay_everything\": true}", "found \"relay_everything\""},
                {"launch := {\"skr_port\": 8080, \"forwarded_ports\": [8080]}", "not to be forwarded"},
                {"launch := {\"skr_endpoints\": [\"http://127.0.0.1:1\"]}", "only with launch.skr_port"},
                {"launch := [8080]", "to be an object"},
        };
        for (String[] c : cases) {
            String text = base.replace("fragments := []", "fragments := []\n\n" + c[0]);
            PolicyLoadException e = assertThrows(PolicyLoadException.class, () -> PolicyEnforcer.load(text), c[0]);
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
    }
}
