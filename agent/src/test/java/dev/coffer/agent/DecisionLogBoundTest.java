package dev.coffer.agent;

import dev.coffer.policy.enforce.EnforcementRequest;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.PolicyEnforcer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A host sending requests in a loop cannot grow the decision log on the sandbox's disk without bound. */
class DecisionLogBoundTest {
    @TempDir
    Path dir;

    @Test
    void theFileStopsAtItsBoundAndDecisionsGoOn() throws Exception {
        Path file = dir.resolve(AgentMain.DECISION_LOG);
        long bound = 4096;
        PolicyEnforcer enforcer = PolicyEnforcer.load(
                new String(AgentDefaults.POLICY, java.nio.charset.StandardCharsets.UTF_8),
                EnforcerOptions.defaults().withLogSink(AgentMain.appender(file, bound)));
        for (int i = 0; i < 200; i++) {
            assertTrue(!enforcer.decide(new EnforcementRequest.DumpStacks()).allowed());
        }
        long size = Files.size(file);
        assertTrue(size <= bound && size > bound / 2, "file size " + size + " for a bound of " + bound);
        assertEquals(200, enforcer.decisionLog().size(), "the in-memory log keeps every decision");
        // a restarted appender finds the file full and adds nothing
        AgentMain.appender(file, bound).accept(enforcer.decisionLog().getLast());
        assertEquals(size, Files.size(file));
    }

    /** The smallest policy in ACI's schema: binds the points, allows nothing. */
    private static final class AgentDefaults {
        static final byte[] POLICY = """
                package policy

                import rego.v1

                api_version := "0.10.0"
                framework_version := "0.1.0"
                containers := []
                dump_stacks := data.framework.dump_stacks
                reason := data.framework.reason
                """.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
