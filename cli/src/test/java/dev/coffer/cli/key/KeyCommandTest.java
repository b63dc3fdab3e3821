package dev.coffer.cli.key;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.CofferCommand;
import dev.coffer.cli.Json;
import dev.coffer.cli.Main;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code coffer key ...} against an embedded server, with explicit --server and --token. */
class KeyCommandTest {
    @TempDir
    static Path home;
    static CofferServer server;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        server = CofferServer.start(ServerConfig.defaults(home).withPort(0));
        assertTrue(server.url().startsWith("https://"), server.url());
        // the CLI finds this home's server and pins the certificate it wrote there
        System.setProperty("coffer.home", home.toString());
        token = Files.readString(home.resolve("server/admin-token")).strip();
    }

    @AfterAll
    static void stop() {
        System.clearProperty("coffer.home");
        server.close();
    }

    static CliRun run(String... args) {
        CommandLine cli = Main.commandLine();
        if (!cli.getSubcommands().containsKey("key")) cli.addSubcommand(new KeyCommand());
        List<String> all = new ArrayList<>(List.of(args));
        if (all.size() > 1 && !all.contains("--help")) {
            all.addAll(List.of("--server", server.url()));
            if (!all.contains("--token")) all.addAll(List.of("--token", token));
        }
        return CliRun.execute(cli, all.toArray(String[]::new));
    }

    @Test
    void lifeCycleThroughTheCli() throws Exception {
        Path policy = home.resolve("policy.json");
        Files.writeString(policy, """
                {"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[
                  {"claim":"x-ms-sevsnpvm-hostdata","equals":"%s"}]}]}""".formatted(server.issuerName(), "ab".repeat(32)));
        CliRun created = run("key", "create", "cli-key", "--type", "oct-256", "--policy", policy.toString());
        assertEquals(0, created.exit(), created.err());
        assertTrue(created.out().contains("cli-key"), created.out());

        CliRun ec = run("key", "create", "cli-ec", "--type", "EC-P-384", "-o", "json");
        assertEquals(0, ec.exit(), ec.err());
        assertEquals("P-384", Json.MAPPER.readTree(ec.out()).path("public_jwk").path("crv").asText());

        CliRun list = run("key", "list", "-o", "json");
        assertEquals(0, list.exit(), list.err());
        JsonNode keys = Json.MAPPER.readTree(list.out());
        assertEquals(2, keys.size());

        CliRun rotated = run("key", "rotate", "cli-key");
        assertEquals(0, rotated.exit(), rotated.err());
        CliRun show = run("key", "show", "cli-key");
        assertTrue(show.out().contains("versions    2"), show.out());

        CliRun printed = run("key", "policy", "cli-key");
        assertEquals("1.0.0", Json.MAPPER.readTree(printed.out()).path("version").asText());
        Files.writeString(policy, Files.readString(policy).replace("ab", "cd"));
        CliRun set = run("key", "policy", "cli-key", policy.toString(), "--immutable");
        assertEquals(0, set.exit(), set.err());
        CliRun again = run("key", "policy", "cli-key", policy.toString());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("[policy_immutable]"), again.err());

        CliRun audit = run("key", "audit", "--key", "cli-key");
        assertEquals(0, audit.exit(), audit.err());
        assertTrue(audit.out().contains("no release decisions recorded"), audit.out());

        CliRun deleted = run("key", "delete", "cli-ec");
        assertEquals(0, deleted.exit(), deleted.err());
        assertTrue(deleted.out().contains("deleted cli-ec"));
    }

    @Test
    void errorsAreOneLineWithTheStableCodeAndExitCodes() throws Exception {
        CliRun missing = run("key", "show", "does-not-exist");
        assertEquals(1, missing.exit());
        assertTrue(missing.err().startsWith("coffer: ") && missing.err().contains("[key_not_found]"), missing.err());
        CliRun badType = run("key", "create", "x", "--type", "AES-128");
        assertEquals(2, badType.exit(), badType.err());
        Path bad = home.resolve("bad-policy.json");
        Files.writeString(bad, "{\"version\":\"1.0.0\",\"anyOf\":[{\"allOf\":[]}]}");
        CliRun badPolicy = run("key", "create", "y", "--policy", bad.toString());
        assertEquals(1, badPolicy.exit());
        assertTrue(badPolicy.err().contains("policy.anyOf[0]: missing 'authority'") && badPolicy.err().contains("[policy_invalid]"),
                badPolicy.err());
        CliRun wrongToken = run("key", "list", "--token", "coffer_admin_nope");
        assertEquals(1, wrongToken.exit());
        assertTrue(wrongToken.err().contains("[unauthenticated]"), wrongToken.err());
    }

    @Test
    void httpsServerIsCheckedByFingerprintOrCa() throws Exception {
        // the fingerprint coffer server prints
        CliRun pinned = run("key", "list", "--server-fingerprint", server.pins().tlsCertificate());
        assertEquals(0, pinned.exit(), pinned.err());
        // another fingerprint: refused, saying what was found and what to do
        CliRun wrong = run("key", "list", "--server-fingerprint", "ab".repeat(32));
        assertEquals(1, wrong.exit());
        assertTrue(wrong.err().contains("[tls_refused]") && wrong.err().contains("expected the pinned " + "ab".repeat(32))
                && wrong.err().contains(server.pins().tlsCertificate()), wrong.err());
        // the certificate as a CA: its SANs name 127.0.0.1, so the host name check passes
        Path ca = home.resolve("ca.pem");
        Files.writeString(ca, server.tls().certificatePem());
        CliRun viaCa = run("key", "list", "--ca", ca.toString());
        assertEquals(0, viaCa.exit(), viaCa.err());
        // a CA that did not issue it
        Files.writeString(ca, dev.coffer.server.tls.ServerIdentity.selfSigned("127.0.0.1").certificatePem());
        CliRun otherCa = run("key", "list", "--ca", ca.toString());
        assertEquals(1, otherCa.exit());
        assertTrue(otherCa.err().contains("[tls_refused]"), otherCa.err());
        CliRun badPin = run("key", "list", "--server-fingerprint", "xyz");
        assertEquals(2, badPin.exit(), badPin.err());
    }

    @Test
    void serverPinsPrintsWhatTheRunningServerPresents() throws Exception {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("server", "pins", "-o", "json"));
        JsonNode pins = Json.MAPPER.readTree(out.toString());
        assertEquals(server.pins().tlsCertificate(), pins.path("tls_certificate").asText());
        List<String> keys = new ArrayList<>();
        pins.path("signing_keys").forEach(k -> keys.add(k.asText()));
        assertEquals(server.pins().signingKeys(), keys);
    }

    @Test
    void releaseToMakesTheReadyMadePolicyAndWeakPoliciesAreWarnedAbout() throws Exception {
        String hostData = "cd".repeat(32);
        CliRun made = run("key", "create", "ready", "--release-to", hostData, "--tee", "sim", "-o", "json");
        assertEquals(0, made.exit(), made.err());
        assertFalse(made.err().contains("warning"), made.err());
        CliRun shown = run("key", "show", "ready", "-o", "json");
        assertTrue(shown.out().contains("coffer-compliant-guest") && shown.out().contains("coffer-sim-sevsnpvm")
                && shown.out().contains(hostData) && shown.out().contains("x-ms-sevsnpvm-is-debuggable"), shown.out());
        Path weak = home.resolve("weak-policy.json");
        Files.writeString(weak, """
                {"version":"1.0.0","anyOf":[{"authority":"%s","allOf":[
                  {"claim":"x-ms-sevsnpvm-hostdata","equals":"%s"}]}]}""".formatted(server.issuerName(), hostData));
        CliRun warned = run("key", "create", "weak", "--policy", weak.toString());
        assertEquals(0, warned.exit(), warned.err());
        assertTrue(warned.err().contains("warning: ") && warned.err().contains("x-ms-compliance-status"), warned.err());
        assertEquals(2, run("key", "create", "bad", "--release-to", "xyz").exit());
        assertEquals(2, run("key", "create", "bad", "--release-to", hostData, "--tee", "tdx").exit());
        assertEquals(2, run("key", "create", "bad", "--release-to", hostData, "--policy", weak.toString()).exit());
        // the vault is shared by this class's tests, which count keys
        assertEquals(0, run("key", "delete", "ready").exit());
        assertEquals(0, run("key", "delete", "weak").exit());
    }

    @Test
    void helpHasAnExample() {
        CommandLine cli = new CommandLine(new CofferCommand()).addSubcommand(new KeyCommand());
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("key", "create", "--help"));
        assertTrue(out.toString().contains("coffer key create app-key"), out.toString());
    }
}
