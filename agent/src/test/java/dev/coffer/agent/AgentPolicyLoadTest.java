package dev.coffer.agent;

import dev.coffer.attest.measure.HostData;
import dev.coffer.policy.enforce.PolicyEnforcer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent compiles its policy beside the TEE check; what it then enforces must be the bytes
 * HOST_DATA binds, whatever the background compile saw.
 */
class AgentPolicyLoadTest {
    static final String POLICY = "package policy\n\napi_version := \"0.10.0\"\nframework_version := \"0.2.3\"\n";

    @TempDir
    Path dir;

    private static String hostData(String text) {
        return HexFormat.of().formatHex(HostData.ofPolicy(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void theBackgroundCompileIsUsedWhenItIsOfTheBoundBytes() throws Exception {
        Path file = Files.writeString(dir.resolve("policy.rego"), POLICY);
        PolicyEnforcer early = PolicyEnforcer.load(POLICY);
        PolicyEnforcer used = AgentMain.loadPolicy(file.toString(), hostData(POLICY), dir.resolve("state"),
                CompletableFuture.completedFuture(early));
        assertSame(early, used);
    }

    @Test
    void aPolicyFileChangedAfterTheBackgroundCompileIsCompiledAgainFromTheCheckedBytes() throws Exception {
        // the compile saw another text (the file was swapped between the two reads)
        PolicyEnforcer stale = PolicyEnforcer.load(POLICY + "# the text the compile saw\n");
        Path file = Files.writeString(dir.resolve("policy.rego"), POLICY);
        PolicyEnforcer used = AgentMain.loadPolicy(file.toString(), hostData(POLICY), dir.resolve("state"),
                CompletableFuture.completedFuture(stale));
        assertEquals(hostData(POLICY), used.policySha256());
        assertTrue(used != stale);
    }

    @Test
    void theHostDataCheckComesFirstAndARefusedCompileIsReportedAsSuch() throws Exception {
        Path file = Files.writeString(dir.resolve("policy.rego"), POLICY);
        CompletableFuture<PolicyEnforcer> never = new CompletableFuture<>(); // a mismatch must not wait for the compile
        IllegalStateException mismatch = assertThrows(IllegalStateException.class, () -> AgentMain.loadPolicy(file.toString(),
                hostData(POLICY + "# launched\n"), dir.resolve("state"), never));
        assertTrue(mismatch.getMessage().contains("does not match"), mismatch.getMessage());

        String broken = "package policy\nthis is not rego\n";
        Path bad = Files.writeString(dir.resolve("bad.rego"), broken);
        CompletableFuture<PolicyEnforcer> refused = CompletableFuture.failedFuture(
                new IllegalArgumentException("expected a Rego policy in ACI's schema in " + bad + ", found one that does not load: x"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AgentMain.loadPolicy(bad.toString(),
                hostData(broken), dir.resolve("state"), refused));
        assertTrue(e.getMessage().contains("does not load"), e.getMessage());
    }
}
