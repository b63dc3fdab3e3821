package dev.coffer.cli.server;

import dev.coffer.cli.CliRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.server.AppraisalSettings;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** {@code coffer server endorsement|token} against a real server over HTTP, and the new server flags' bad input. */
class ServerAdminCommandsTest {
    @TempDir
    static Path home;
    static CofferServer server;
    static String admin;

    @BeforeAll
    static void start() throws Exception {
        server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true));
        admin = Files.readString(home.resolve("server/admin-token")).strip();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static CliRun run(String... args) {
        CommandLine cli = dev.coffer.cli.Main.commandLine();
        return CliRun.execute(cli, args);
    }

    static String[] withServer(String token, String... args) {
        String[] all = Arrays.copyOf(args, args.length + 6);
        all[args.length] = "--server";
        all[args.length + 1] = server.url();
        all[args.length + 2] = "--token";
        all[args.length + 3] = token;
        // the server's HTTPS certificate, pinned as `coffer server` prints it
        all[args.length + 4] = "--server-fingerprint";
        all[args.length + 5] = server.pins().tlsCertificate();
        return all;
    }

    @Test
    void endorsementsAreAddedListedAndRemoved(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("guest.cose");
        Files.write(file, EndorsementKey.openOrCreate(AppraisalSettings.homeEndorsementKeyDir(home)).sign("ab".repeat(48), 2));
        CliRun added = run(withServer(admin, "server", "endorsement", "add", file.toString()));
        assertEquals(0, added.exit(), added.out() + added.err());
        assertTrue(added.out().contains("registered ") && added.out().contains("ab".repeat(48)) && added.out().contains("verifies    yes"),
                added.out());
        CliRun list = run(withServer(admin, "server", "endorsement", "ls", "-o", "json"));
        assertEquals(0, list.exit(), list.err());
        JsonNode json = new ObjectMapper().readTree(list.out());
        String digest = json.path("endorsements").get(0).path("digest").asText();
        assertEquals(64, digest.length());
        assertEquals(0, run(withServer(admin, "server", "endorsement", "rm", digest)).exit());
        CliRun again = run(withServer(admin, "server", "endorsement", "rm", digest));
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("not_found"), again.err());

        // bad input: exit 1 (server refused) or 2 (usage), a precise message, never a stack trace
        Path garbage = dir.resolve("garbage.cose");
        Files.writeString(garbage, "not cbor at all");
        CliRun bad = run(withServer(admin, "server", "endorsement", "add", garbage.toString()));
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("endorsement_invalid"), bad.err());
        Path huge = dir.resolve("huge.cose");
        Files.write(huge, new byte[70_000]);
        CliRun big = run(withServer(admin, "server", "endorsement", "add", huge.toString()));
        assertEquals(1, big.exit());
        assertTrue(big.err().contains("70000 bytes"), big.err());
        CliRun missing = run(withServer(admin, "server", "endorsement", "add", dir.resolve("nope.cose").toString()));
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("no such endorsement file"), missing.err());
        assertEquals(2, run(withServer(admin, "server", "endorsement", "rm", "xyz")).exit());
        for (CliRun r : new CliRun[] {bad, big, missing}) assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void adminTokensAreCreatedListedAndRevoked() throws Exception {
        CliRun created = run(withServer(admin, "server", "token", "create", "--label", "ci", "-o", "json"));
        assertEquals(0, created.exit(), created.err());
        JsonNode json = new ObjectMapper().readTree(created.out());
        String token = json.path("token").asText(), id = json.path("id").asText();
        assertEquals(0, run(withServer(token, "server", "token", "ls")).exit());
        CliRun revoked = run(withServer(admin, "server", "token", "revoke", id));
        assertEquals(0, revoked.exit(), revoked.err());
        CliRun refused = run(withServer(token, "server", "token", "ls"));
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("unauthenticated"), refused.err());
        assertEquals(2, run(withServer(admin, "server", "token", "revoke", "NOT-AN-ID")).exit());
        CliRun unknown = run(withServer(admin, "server", "token", "revoke", "0123456789abcdef"));
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().contains("not_found"), unknown.err());
    }

    @Test
    void badAppraisalFlagsAreUsageErrorsBeforeStarting(@TempDir Path dir) {
        CliRun endorser = run("server", "--listen", "127.0.0.1:0", "--trust-endorser", "not-a-did");
        assertEquals(2, endorser.exit());
        assertTrue(endorser.err().contains("did:x509"), endorser.err());
        CliRun svn = run("server", "--listen", "127.0.0.1:0", "--trust-endorser",
                "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.2,feed,lots");
        assertEquals(2, svn.exit());
        assertTrue(svn.err().contains("lots"), svn.err());
        CliRun tcb = run("server", "--listen", "127.0.0.1:0", "--min-tcb", "Rome:bl=1");
        assertEquals(2, tcb.exit());
        assertTrue(tcb.err().contains("Rome"), tcb.err());
        CliRun crl = run("server", "--listen", "127.0.0.1:0", "--crl", dir.resolve("missing.crl").toString());
        assertEquals(2, crl.exit());
        assertTrue(crl.err().contains("missing.crl"), crl.err());
    }
}
