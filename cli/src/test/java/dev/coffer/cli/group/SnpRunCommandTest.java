package dev.coffer.cli.group;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code coffer run --tee snp} on this machine, as a user runs it (a separate JVM per command).
 * This machine has no SEV-SNP: the preflight must say why, and a launch must stop there, with the
 * preflight's explanation and nothing started, rather than with QEMU's error.
 */
class SnpRunCommandTest {
    @TempDir
    Path home;
    @TempDir
    Path work;

    static boolean snpHost() {
        return Files.exists(Path.of("/dev/sev")) && Files.exists(Path.of("/sys/module/kvm_amd/parameters/sev_snp"));
    }

    @Test
    void theCheckExplainsOnOneScreenWhySnpIsUnavailableAndExitsNonZero() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(snpHost(), "an SNP host: the check may pass");
        GroupCli.Outcome o = GroupCli.run(home, work, "run", "--tee", "snp", "--check");
        assertEquals(1, o.exitCode(), o.out() + o.err());
        assertTrue(o.out().startsWith("SEV-SNP launch: NOT READY"), o.out());
        assertTrue(o.out().contains("/dev/sev") && o.out().contains("qemu") && o.out().contains("ovmf"), o.out());
        assertTrue(o.out().contains("fix: "), o.out());
        assertTrue(o.out().lines().count() <= 40, "one screen:\n" + o.out());
        assertFalse(Files.exists(home.resolve("groups")), "a check starts nothing");
    }

    @Test
    void aLaunchOnThisHostStopsWithThePreflightsExplanationNotAQemuError() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(snpHost(), "an SNP host would launch");
        Path spec = work.resolve("web.yaml");
        Files.writeString(spec, """
                name: web
                containers:
                  - name: app
                    image: coffer.test/app:1
                """);
        GroupCli.Outcome o = GroupCli.run(home, work, "run", spec.toString(), "--tee", "snp");
        assertEquals(1, o.exitCode(), o.out() + o.err());
        assertTrue(o.err().contains("cannot run group web on SEV-SNP: this host is not ready"), o.err());
        assertTrue(o.err().contains("SEV-SNP launch: NOT READY") && o.err().contains("MISSING  /dev/sev"), o.err());
        assertTrue(o.err().contains("(cpu, ") && o.err().contains("coffer run --tee snp --check"), o.err());
        assertFalse(o.err().contains("qemu-system-x86_64:"), "no QEMU error: QEMU never ran\n" + o.err());
        assertFalse(Files.exists(home.resolve("groups").resolve("web")), "nothing prepared or started");
    }

    @Test
    void badSnpChoicesAreUsageErrors() throws Exception {
        GroupCli.Outcome o = GroupCli.run(home, work, "run", "--tee", "snp", "--check", "--vcpus", "0");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("1..255 vCPUs"), o.err());
        o = GroupCli.run(home, work, "run", "--tee", "snp", "--check", "--cpu-type", "host");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("EPYC-v4"), o.err());
        o = GroupCli.run(home, work, "run", "--tee", "sim", "--check");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("--check with --tee snp"), o.err());
        Files.writeString(work.resolve("g.yaml"), "name: g\ncontainers:\n  - name: a\n    image: x:1\n");
        o = GroupCli.run(home, work, "run", "g.yaml", "--tee", "snp", "--isolation", "process");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("--isolation microvm (or auto) with --tee snp"), o.err());
        o = GroupCli.run(home, work, "run", "--tee", "snp", "--check", "--snp-id-block", work.resolve("missing.bin").toString(),
                "--snp-id-auth", work.resolve("missing.bin").toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("--snp-id-block"), o.err());
    }
}
