package dev.coffer.runtime.microvm;

import dev.coffer.runtime.sandbox.SandboxBackend;
import dev.coffer.runtime.sandbox.SandboxException;
import dev.coffer.runtime.sandbox.SnpSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The microVM backend asked for an SEV-SNP launch on this machine, which has no SEV-SNP. */
class SnpBackendTest {
    @TempDir
    Path home;

    @Test
    void anSnpLaunchHereStopsAtThePreflightBeforeAnythingIsWrittenOrStarted() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.exists(Path.of("/dev/sev")), "an SNP host would go on to launch");
        Path groupDir = Files.createDirectories(home.resolve("groups/web"));
        MicroVmSandboxBackend backend = new MicroVmSandboxBackend(home.resolve("guest"), Duration.ofSeconds(5));
        SandboxBackend.LaunchRequest request = new SandboxBackend.LaunchRequest("web", groupDir, "crun", "allow-all", Map.of(),
                List.of(), "snp", null, null, List.of(), List.of(), List.of(), SnpSettings.defaults());
        SandboxException e = assertThrows(SandboxException.class, () -> backend.launch(request));
        assertTrue(e.getMessage().startsWith("cannot launch group web on SEV-SNP: this host is not ready\nSEV-SNP launch: NOT READY"),
                e.getMessage());
        assertTrue(e.getMessage().contains("MISSING  /dev/sev") && e.getMessage().contains("MISSING  guest"), e.getMessage());
        assertFalse(Files.exists(groupDir.resolve("vm")), "no launch disk, no run directory, no QEMU");
    }
}
