package dev.coffer.rego.conformance;

import dev.coffer.rego.Rego;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs OPA's v1 conformance suite and holds the pass count at or above the recorded floor. */
class ConformanceTest {
    /** Raise this as the engine improves; never lower it to make the build green. */
    static final long PASS_FLOOR = 2257;

    @Test
    void opaV1SuitePassesAtLeastTheFloor() throws Exception {
        Path shared = Path.of(System.getProperty("coffer.shared", "../../shared"));
        Path dir = shared.resolve("testdata/opa-conformance/v1");
        assertTrue(Files.isDirectory(dir), "conformance cases not found at " + dir.toAbsolutePath());
        ConformanceRunner.Report report = new ConformanceRunner(Rego.Syntax.V1).run(dir);
        report.print(System.out, false);
        long passed = report.count(ConformanceRunner.Outcome.PASS);
        assertTrue(passed >= PASS_FLOOR, "conformance pass count dropped: " + passed + " < floor " + PASS_FLOOR);
    }
}
