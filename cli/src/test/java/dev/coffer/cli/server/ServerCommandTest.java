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

    @Test
    void helpShowsExamplesAndBench() {
        CommandLine cli = new CommandLine(new CofferCommand()).addSubcommand(new ServerCommand());
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("server", "--help"));
        assertTrue(out.toString().contains("coffer server --listen 127.0.0.1:8400 --trust-sim"), out.toString());
        assertTrue(out.toString().contains("bench"), out.toString());
        // how to run replicas: the shared database (flag or environment), issuer and KEK, and the probes
        for (String taught : List.of("Replicas:", "$COFFER_DB_URL", "--issuer", "--kek-file", "/readyz", "/metrics", "store_unavailable")) {
            assertTrue(out.toString().contains(taught), "help teaches " + taught + ": " + out);
        }
    }
}
