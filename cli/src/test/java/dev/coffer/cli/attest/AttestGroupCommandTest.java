package dev.coffer.cli.attest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.Main;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.runtime.group.GroupManager;
import dev.coffer.runtime.group.RunOptions;
import dev.coffer.policy.spec.GroupSpecParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code coffer attest group NAME} against real groups (agent process, runc/crun) on the simulated TEE. */
class AttestGroupCommandTest {
    record Outcome(int exit, String out, String err) {}

    @TempDir
    Path home;
    GroupManager groups;

    @BeforeEach
    void setUp(@TempDir Path work) throws Exception {
        System.setProperty("coffer.home", home.toString());
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer layer = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755).symlink("bin/sleep", "busybox")
                .dir("proc").dir("sys").dir("dev").dir("tmp", 01777);
        Path layout = new ImageBuilder().layer(layer).config(ImageConfig.of(List.of("sleep", "300")))
                .writeLayout(Files.createDirectories(work.resolve("layout")), "coffer.test/sleep:1");
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(layout);
        }
        groups = new GroupManager(home);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (String g : List.of("attested", "plain")) {
            try {
                groups.stop(g, Duration.ofSeconds(1));
            } catch (Exception ignored) {
                // not started by this test
            }
        }
        System.clearProperty("coffer.home");
    }

    static Outcome run(String... args) {
        CommandLine cli = Main.commandLine();
        if (!cli.getSubcommands().containsKey("attest")
                || !cli.getSubcommands().get("attest").getSubcommands().containsKey("group")) {
            CommandLine reference = cli;
            cli = new CommandLine(new CofferCommand()).addSubcommand(new AttestCommand());
            cli.setExecutionExceptionHandler(reference.getExecutionExceptionHandler());
            cli.setParameterExceptionHandler(reference.getParameterExceptionHandler());
            cli.setExitCodeExceptionMapper(reference.getExitCodeExceptionMapper());
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return new Outcome(cli.execute(args), out.toString(), err.toString());
    }

    private void start(String name, String tee) throws Exception {
        groups.run(GroupSpecParser.parse("""
                name: %s
                scratch: {allowUnencrypted: true} # no device-mapper here: plaintext scratch, said so
                containers:
                  - name: idle
                    image: coffer.test/sleep:1
                """.formatted(name), "g.yaml"), RunOptions.defaults().withTee(tee));
    }

    @Test
    void attestsASimGroupAndFailsWithTheReasonWhenTheRecordDiffers() throws Exception {
        start("attested", RunOptions.TEE_SIM);
        Outcome ok = run("attest", "group", "attested");
        assertEquals(0, ok.exit(), ok.out() + ok.err());
        assertTrue(ok.out().contains("tee: sim (simulated, not a hardware TEE)"), ok.out());
        assertTrue(ok.out().contains("verdict: attested"), ok.out());
        String hostData = groups.status("attested").hostData();
        assertTrue(ok.out().contains("host data: " + hostData), ok.out());

        Outcome json = run("attest", "group", "attested", "-o", "json", "--nonce", "c0ffee");
        assertEquals(0, json.exit(), json.err());
        JsonNode tree = new ObjectMapper().readTree(json.out());
        assertTrue(tree.get("valid").asBoolean());
        assertEquals("c0ffee", tree.get("nonce").asText());
        assertEquals(groups.status("attested").measurement(), tree.get("measurement").asText());
        assertTrue(tree.get("reportData").asText().endsWith("c0ffee" + "00".repeat(29)), tree.get("reportData").asText());

        // the record `coffer run` made no longer matches the launch: exit 1, the check and both values named
        Path state = groups.groupDir("attested").resolve("state.json");
        ObjectNode s = (ObjectNode) new ObjectMapper().readTree(state.toFile());
        s.put("measurement", "ab".repeat(48));
        new ObjectMapper().writeValue(state.toFile(), s);
        Outcome bad = run("attest", "group", "attested");
        assertEquals(1, bad.exit(), bad.out());
        assertTrue(bad.out().contains("verdict: NOT attested: measurement-matches-run: expected MEASUREMENT to be the value"
                + " `coffer run` recorded (" + "ab".repeat(48) + ")"), bad.out());
        assertTrue(bad.err().contains("is not attested"), bad.err());
    }

    @Test
    void refusesGroupsWithoutTeeUnknownGroupsAndBadNonces() throws Exception {
        start("plain", RunOptions.TEE_NONE);
        Outcome none = run("attest", "group", "plain");
        assertEquals(1, none.exit());
        assertTrue(none.err().contains("found --tee none"), none.err());
        Outcome unknown = run("attest", "group", "nosuch");
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().contains("expected a group named nosuch"), unknown.err());
        for (String nonce : List.of("xyz", "00".repeat(33), "")) {
            Outcome badNonce = run("attest", "group", "plain", "--nonce", nonce);
            assertEquals(2, badNonce.exit(), nonce);
            assertTrue(badNonce.err().contains("expected --nonce of 1..32 bytes in hex"), badNonce.err());
        }
        assertFalse(run("attest", "group", "--help").out().isEmpty());
    }
}
