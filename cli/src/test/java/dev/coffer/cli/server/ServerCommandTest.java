package dev.coffer.cli.server;

import dev.coffer.cli.CofferCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ServerCommandTest {
    @TempDir
    Path dir;

    private int run(StringWriter err, String... args) {
        CommandLine cli = dev.coffer.cli.Main.commandLine();
        if (!cli.getSubcommands().containsKey("server")) cli.addSubcommand(new ServerCommand());
        cli.setErr(new PrintWriter(err));
        cli.setOut(new PrintWriter(new StringWriter()));
        return cli.execute(args);
    }

    @Test
    void badListenAddressIsAUsageError() {
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "server", "--listen", "nonsense"));
        assertTrue(err.toString().contains("HOST:PORT"), err.toString());
    }

    @Test
    void unknownConfigSettingIsRefusedBeforeStarting() throws Exception {
        Path cfg = dir.resolve("server.yaml");
        Files.writeString(cfg, "listen: 127.0.0.1:0\ntrustSimm: true\n");
        StringWriter err = new StringWriter();
        assertEquals(1, run(err, "server", "--config", cfg.toString()));
        assertTrue(err.toString().contains("unknown setting 'trustSimm'"), err.toString());
    }

    /** A pin for a remote attestation service that cannot mean anything is refused before the server writes anything. */
    @Test
    void badIssuerPinsAreRefusedBeforeStarting() throws Exception {
        String home = System.getProperty("coffer.home");
        System.setProperty("coffer.home", dir.resolve("home").toString());
        try {
            StringWriter http = new StringWriter();
            assertEquals(2, run(http, "server", "--listen", "127.0.0.1:0", "--trust-issuer-cert", "http://attest.example:8400=" + "ab".repeat(32)));
            assertTrue(http.toString().contains("expected an https:// attestation service to pin")
                    && http.toString().contains("a certificate pin means nothing over plain HTTP"), http.toString());

            StringWriter noPin = new StringWriter();
            assertEquals(2, run(noPin, "server", "--listen", "127.0.0.1:0", "--trust-issuer-cert", "https://attest.example:8400"));
            assertTrue(noPin.toString().contains("expected URL=SHA256"), noPin.toString());

            StringWriter shortPin = new StringWriter();
            assertEquals(2, run(shortPin, "server", "--listen", "127.0.0.1:0", "--trust-issuer-cert", "https://attest.example:8400=abcd"));
            assertTrue(shortPin.toString().contains("64 hex digits"), shortPin.toString());

            StringWriter twice = new StringWriter();
            assertEquals(2, run(twice, "server", "--listen", "127.0.0.1:0", "--trust-issuer-cert", "https://attest.example=" + "ab".repeat(32),
                    "--trust-issuer-cert", "https://ATTEST.example:443=" + "cd".repeat(32)));
            assertTrue(twice.toString().contains("expected one pin per attestation service, found https://attest.example:443 twice"),
                    twice.toString());

            StringWriter noCa = new StringWriter();
            assertEquals(2, run(noCa, "server", "--listen", "127.0.0.1:0", "--trust-issuer-ca", "https://attest.example:8400="
                    + dir.resolve("missing.pem")));
            assertTrue(noCa.toString().contains("--trust-issuer-ca: cannot read the CA certificates"), noCa.toString());

            Path cfg = dir.resolve("server.yaml");
            Files.writeString(cfg, "listen: 127.0.0.1:0\ntrustIssuerCerts: [\"http://attest.example:8400=" + "ab".repeat(32) + "\"]\n");
            StringWriter file = new StringWriter();
            assertEquals(1, run(file, "server", "--config", cfg.toString()));
            assertTrue(file.toString().contains("a certificate pin means nothing over plain HTTP"), file.toString());
            assertFalse(Files.exists(dir.resolve("home").resolve("server")), "nothing written: no TLS identity, no state");
        } finally {
            if (home == null) System.clearProperty("coffer.home");
            else System.setProperty("coffer.home", home);
        }
    }

    @Test
    void helpShowsExamplesAndBench() {
        CommandLine cli = new CommandLine(new CofferCommand()).addSubcommand(new ServerCommand());
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("server", "--help"));
        assertTrue(out.toString().contains("coffer server --listen 127.0.0.1:8400 --trust-sim"), out.toString());
        assertTrue(out.toString().contains("bench"), out.toString());
        // how to run replicas: the shared database (flag or environment), issuer and KEK, and the probes
        for (String taught : List.of("Replicas:", "$COFFER_DB_URL", "--issuer", "--kek-file", "/readyz", "/metrics", "store_unavailable",
                "--trust-issuer-cert", "--trust-issuer-ca", "URL=SHA256", "token_issuer_untrusted")) {
            assertTrue(out.toString().contains(taught), "help teaches " + taught + ": " + out);
        }
    }
}
