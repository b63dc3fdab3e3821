package dev.coffer.policy.bench;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark measures what it says: the requests it derives from a real ACI policy are the
 * ones Microsoft's framework allows (mounts first, then the create), and the deny variant is
 * denied. No timing is asserted.
 */
class MicrosoftFrameworkBenchmarkTest {
    static final Path ACI = Path.of(System.getProperty("coffer.shared", "../../shared")).resolve("testdata/aci");

    @Test
    void derivedRequestsAreAllowedAndTheDenyVariantIsDenied() {
        MicrosoftFrameworkBenchmark.Result r = MicrosoftFrameworkBenchmark.run(ACI.resolve("hcsshim-v0.14.0"),
                ACI.resolve("confcom-samples/environment_variables/policy.rego"), 5, 5);
        assertEquals(2, r.decisions().size());
        assertTrue(r.decisions().get(0).allowed(), "create_container allow: " + r.summary());
        assertFalse(r.decisions().get(1).allowed(), "create_container deny: " + r.summary());
        assertTrue(r.envVariables() > 2, "the container with the most env rules is measured: " + r.summary());
    }

    @Test
    void aMissingFrameworkFileIsNamed() {
        Exception e = assertThrows(RuntimeException.class, () -> MicrosoftFrameworkBenchmark.run(ACI.resolve("confcom-docs"),
                ACI.resolve("confcom-samples/minimal/policy.rego"), 1, 1));
        assertTrue(e.getMessage().contains("framework.rego"), e.getMessage());
    }
}
