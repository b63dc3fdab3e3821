package dev.coffer.cli.rego;

import dev.coffer.cli.CliRun;
import dev.coffer.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegoCommandTest {

    private static CliRun run(String... args) {
        CommandLine cl = Main.commandLine();
        if (!cl.getSubcommands().containsKey("rego")) cl.addSubcommand(new RegoCommand());
        return CliRun.execute(cl, args);
    }

    @Test
    void evalPrintsJsonRows(@TempDir Path dir) throws Exception {
        Path policy = Files.writeString(dir.resolve("p.rego"), "package p\nimport rego.v1\nallow if input.user == \"alice\"\n");
        Path input = Files.writeString(dir.resolve("in.json"), "{\"user\":\"alice\"}");
        CliRun r = run("rego", "eval", "-d", policy.toString(), "-i", input.toString(), "x := data.p.allow");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().replace(" ", "").contains("\"x\":true"), r.out());
    }

    @Test
    void checkReportsLocationOfErrors(@TempDir Path dir) throws Exception {
        Path ok = Files.writeString(dir.resolve("ok.rego"), "package ok\nx := 1\n");
        assertEquals(0, run("rego", "check", ok.toString()).exit());
        Path bad = Files.writeString(dir.resolve("bad.rego"), "package bad\nx := [1,\n");
        CliRun r = run("rego", "check", bad.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("bad.rego:"), r.err());
        assertEquals(2, run("rego", "check", dir.resolve("missing.rego").toString()).exit());
        assertEquals(2, run("rego", "eval", "--syntax", "v9", "-d", ok.toString(), "data.ok.x").exit());
    }

    @Test
    void conformanceRunsADirectory(@TempDir Path dir) throws Exception {
        Path fam = Files.createDirectories(dir.resolve("fam"));
        Files.writeString(fam.resolve("t.yaml"), """
                cases:
                  - note: fam/ok
                    query: data.t.p = x
                    modules:
                      - |
                        package t
                        p := 1 + 1
                    want_result:
                      - x: 2
                  - note: fam/wrong
                    query: data.t.p = x
                    modules:
                      - |
                        package t
                        p := 3
                    want_result:
                      - x: 2
                """);
        CliRun r = run("rego", "conformance", dir.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("1 passed, 1 failed, 0 skipped"), r.out());
    }

    @Test
    void conformanceReadsAV0DirectoryAsV0(@TempDir Path dir) throws Exception {
        Path fam = Files.createDirectories(dir.resolve("v0/fam"));
        Files.writeString(fam.resolve("t.yaml"), """
                cases:
                  - note: fam/v0 partial set
                    query: data.t.p = x
                    modules:
                      - |
                        package t
                        p[n] { n := [1, 2][_] }
                    want_result:
                      - x: [1, 2]
                """);
        CliRun auto = run("rego", "conformance", dir.resolve("v0").toString());
        assertEquals(0, auto.exit(), auto.err());
        assertTrue(auto.out().startsWith("syntax: v0") && auto.out().contains("1 passed, 0 failed, 0 skipped"), auto.out());
        CliRun flag = run("rego", "conformance", "--v0", fam.toString());
        assertTrue(flag.out().startsWith("syntax: v0") && flag.out().contains("1 passed, 0 failed"), flag.out());
        CliRun v1 = run("rego", "conformance", "--syntax", "v1", "--failures", fam.toString());
        assertEquals(1, v1.exit(), "read as v1 the case fails: " + v1.out());
        assertTrue(v1.out().startsWith("syntax: v1") && v1.out().contains("rego_parse_error"), v1.out());
        CliRun both = run("rego", "conformance", "--v0", "--syntax", "v1", fam.toString());
        assertEquals(2, both.exit(), "--v0 with --syntax v1 is a usage error");
        assertTrue(both.err().contains("--v0 contradicts --syntax v1"), both.err());
    }

    @Test
    void benchReportsFigures() {
        CliRun r = run("rego", "bench", "--containers", "2", "--iterations", "200", "--warmup", "50");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("data.policy.create_container") && r.out().contains("allowed=true"), r.out());
    }
}
