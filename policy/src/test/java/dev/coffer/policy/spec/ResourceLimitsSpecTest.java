package dev.coffer.policy.spec;

import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code resources.limits} in the group spec, and how the policy pins them. */
class ResourceLimitsSpecTest {
    private static final String SPEC = """
            name: g
            containers:
              - name: web
                image: registry.example/web:1
            """;

    private static String withLimits(String limits) {
        return SPEC + "    resources:\n      limits: " + limits + "\n";
    }

    private static String policy(String yaml) throws Exception {
        PolicyGenerator generator = new PolicyGenerator(ref -> new ResolvedImage(ref, List.of("a".repeat(64)), List.of(),
                List.of("/bin/web"), List.of("PATH=/bin"), "/", ""));
        return generator.generate(GroupPolicyInput.parse(yaml, "g.yaml"), false).text();
    }

    @Test
    void limitsAreParsedAndPinned() throws Exception {
        GroupSpec spec = GroupSpecParser.parse(withLimits("{memory: 256Mi, pids: 128}"), "g.yaml");
        assertEquals(new GroupSpec.Limits(256L << 20, 128), spec.containers().getFirst().security().limits());
        assertEquals(new GroupSpec.Limits(1_000_000_000L, 0),
                GroupSpecParser.parse(withLimits("{memory: 1G}"), "g.yaml").containers().getFirst().security().limits());
        String pinned = policy(withLimits("{memory: 256Mi, pids: 128}"));
        assertTrue(pinned.contains("\"limits\": {\"memory_bytes\": 268435456, \"pids\": 128}"), pinned);
        // a container without limits keeps the policy bytes it had before limits existed
        String plain = policy(SPEC);
        assertFalse(plain.contains("limits"), plain);
        assertTrue(plain.contains("\"no_new_privileges\": false\n"), plain);
    }

    @Test
    void badLimitsNameTheField() {
        for (String bad : List.of("{memory: 1Mi}", "{memory: lots}", "{memory: -5}", "{pids: 0}", "{pids: many}",
                "{pids: 99999999}", "{cpu: 2}")) {
            SpecException e = assertThrows(SpecException.class, () -> GroupSpecParser.parse(withLimits(bad), "g.yaml"), bad);
            assertTrue(e.getMessage().contains("resources.limits"), bad + ": " + e.getMessage());
        }
    }
}
