package dev.coffer.cli.server;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code coffer server pins}: what a group's spec pins for this home's server. */
@Command(name = "pins", mixinStandardHelpOptions = true,
        description = {"Print what a group spec pins for this home's server (skr.pins): its TLS certificate's SHA-256",
                "and the RFC 7638 thumbprints of the keys it signs releases and tokens with. The agent accepts a",
                "release only when signed by a pinned key, and a TLS connection only with the pinned certificate."},
        footer = {"", "Examples:", "  coffer server pins", "  coffer server pins -o json --listen 10.0.0.5:8400",
                "  coffer server pins --db 'jdbc:postgresql://db:5432/coffer?user=coffer' --kek-file kek   (replicas: their shared keys)"})
public final class ServerPinsCommand implements Runnable {
    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "The server's listen address (default: 127.0.0.1:8400).")
    String listen;

    @Option(names = "--db", paramLabel = "JDBC-URL", defaultValue = "${env:COFFER_DB_URL}",
            description = "The database replicas share, whose signing keys to print (default: $COFFER_DB_URL, else this home's SQLite).")
    String db;

    @Option(names = "--kek-file", paramLabel = "FILE", description = "The replicas' key-encryption key (default: $COFFER_KEK, else this home's).")
    Path kekFile;

    @Override
    public void run() {
        Path home = CofferHome.resolve();
        ServerConfig cfg = ServerConfig.defaults(home);
        if (listen != null) {
            try {
                String[] hp = ServerConfig.parseListen(listen);
                cfg = cfg.withListen(hp[0], Integer.parseInt(hp[1]));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        if (db != null && !db.isBlank()) cfg = cfg.withDb(db);
        if (kekFile != null) cfg = cfg.withKekFile(kekFile);
        CofferServer.Pins pins;
        try {
            pins = CofferServer.pinsOf(cfg);
        } catch (IOException | RuntimeException e) {
            throw new CofferException("cannot read the server's keys and certificate in " + cfg.stateDir() + ": " + e.getMessage());
        }
        print(spec.commandLine().getOut(), pins, output.json());
    }

    static void print(PrintWriter out, CofferServer.Pins pins, boolean json) {
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("endpoint", pins.url());
            m.put("issuer", pins.issuer());
            m.put("tls_certificate", pins.tlsCertificate());
            m.put("signing_keys", pins.signingKeys());
            out.println(dev.coffer.server.http.Json.string(m));
        } else {
            out.println("  tls cert    sha256 " + pins.tlsCertificate());
            for (String k : pins.signingKeys()) out.println("  signing key " + k + " (RFC 7638)");
            out.println("  pin it in a group spec:");
            out.println("    skr:");
            out.println("      endpoints: [" + pins.url() + "]");
            out.println("      pins:");
            out.println("        - endpoint: " + pins.url());
            out.println("          tls_certificate: " + pins.tlsCertificate());
            out.println("          signing_keys: [" + String.join(", ", pins.signingKeys()) + "]");
        }
        out.flush();
    }
}
