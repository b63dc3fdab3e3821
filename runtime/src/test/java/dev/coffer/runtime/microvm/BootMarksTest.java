package dev.coffer.runtime.microvm;

import dev.coffer.runtime.sandbox.SandboxRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The guest's progress marks as the host reads them from the console log, garbage included. */
class BootMarksTest {
    @TempDir
    Path run;

    @Test
    void marksAndTheAgentsPhasesAreReadFromTheConsole() throws Exception {
        Files.writeString(run.resolve("console.log"), """
                [    0.000000] Linux version 6.1.0
                COFFER-INIT started uptime=3.51
                COFFER-INIT switched-root uptime=4.20
                COFFER-INIT agent-starting uptime=6.48
                COFFER-INIT agent-jvm-started uptime=12.40
                COFFER-INIT garbled uptime=x
                COFFER-INIT started uptime=99.0
                READY 71 crun 1.8.1 enforcer=allow-all
                coffer-agent: startup tee=43ms policy=440ms
                COFFER-INIT agent-listening uptime=24.78
                """);
        MicroVmSandbox sandbox = new MicroVmSandbox(new SandboxRecord("microvm", 1, null, run.resolve("agent.sock").toString(),
                "/run/coffer", "none", "", ""), run);
        // first occurrence wins; a garbled value is skipped
        assertEquals(Map.of("started", 3510L, "switched-root", 4200L, "agent-starting", 6480L, "agent-jvm-started", 12400L,
                "agent-listening", 24780L), sandbox.bootMarks());
        assertEquals("tee=43ms policy=440ms", sandbox.bootNotes());
        Files.delete(run.resolve("console.log"));
        assertEquals(Map.of(), sandbox.bootMarks());
        assertEquals("", sandbox.bootNotes());
    }
}
