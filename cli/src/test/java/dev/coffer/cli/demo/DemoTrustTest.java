package dev.coffer.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo's trust steps again in the same home: the vault and sim chip persist, the demo still passes. */
class DemoTrustTest {
    @TempDir
    Path home;

    @AfterEach
    void restoreHome() {
        System.clearProperty("coffer.home");
    }

    private JsonNode demo() throws Exception {
        System.setProperty("coffer.home", home.toString());
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute("demo", "-o", "json", "--isolation", "process");
        assertEquals(0, exit, out + "\n" + err);
        return new ObjectMapper().readTree(out.toString());
    }

    private static String detail(JsonNode report, String step) {
        for (JsonNode s : report.get("steps")) {
            if (s.get("name").asText().equals(step)) {
                assertTrue(s.get("ok").asBoolean(), s.toString());
                return s.get("detail").asText();
            }
        }
        throw new AssertionError("no step " + step + " in " + report);
    }

    @Test
    void secondRunInTheSameHomeReleasesAFreshKeyAndRefusesTheModifiedLaunchAgain() throws Exception {
        JsonNode first = demo();
        JsonNode second = demo();
        assertEquals("sim", second.get("tee").asText());
        String released1 = detail(first, "key-released");
        String released2 = detail(second, "key-released");
        assertTrue(released2.contains("= the vault key's"), released2);
        // a new key each run (the old one was bound to the earlier run's HOST_DATA)
        assertNotEquals(released1, released2);
        assertTrue(detail(second, "key-refused-modified-policy").contains("x-ms-sevsnpvm-hostdata"));
        assertTrue(detail(second, "attested").contains("x-coffer-tee=sim"));
        assertFalse(Files.exists(home.resolve("groups").resolve(DemoTrust.MODIFIED_GROUP)));
        assertFalse(Files.exists(home.resolve("groups").resolve(DemoRun.GROUP)));
    }
}
