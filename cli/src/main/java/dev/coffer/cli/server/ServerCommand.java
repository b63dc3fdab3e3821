package dev.coffer.cli.server;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
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

/** {@code coffer server}: the attestation service and key vault, in the foreground. */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = {"Run the attestation service (POST /attest/SevSnpVm, GET /certs) and the key vault",
                "(/keys, secure key release) in the foreground until interrupted.",
                "State lives in $COFFER_HOME/server: the key-encryption key, the SQLite vault (keys, token-",
                "signing keys sealed under the KEK, admin tokens, endorsements, audit) and the first admin token",
                "(admin-token, mode 0600).",
                "It serves HTTPS: with --tls-cert/--tls-key, else with a self-signed EC P-256 certificate it makes",
                "in its state on first start (tls-cert.pem, tls-key.pem); its SHA-256 and the signing-key",
                "thumbprints printed at start are what a group spec pins (see coffer server pins).",
                "",
                "Replicas: run several servers on one PostgreSQL (--db or $COFFER_DB_URL) behind one load balancer,",
                "each with the same --issuer (the load balancer's URL), the same KEK (--kek-file or $COFFER_KEK) and,",
                "for HTTPS, the same --tls-cert/--tls-key. They share everything through the database: vault keys,",
                "token-signing keys (rotation is published to every replica before the new key signs), admin",
                "tokens, endorsements, reference values and the audit log; any replica answers any request.",
                "Probes: GET /healthz (alive), GET /readyz (database answers, signing keys loaded; 503 otherwise).",
                "GET /metrics (admin token) is Prometheus text. While the database is down requests get 503",
                "store_unavailable and nothing is acknowledged that was not committed; service resumes by itself.",
                "",
                "A remote attestation service: a key's release policy names the authority whose tokens release",
                "it; the vault fetches that authority's token-signing keys (its discovery document, then its",
                "jwks_uri) over HTTPS, from the authority's own origin only. Its certificate is checked against",
                "the JDK's trust store, unless pinned: --trust-issuer-cert URL=SHA256 (the fingerprint the other",
                "coffer server prints at start, or `coffer server pins` there) or --trust-issuer-ca URL=PEM. A",
                "pinned authority presenting any other certificate is refused (token_issuer_untrusted)."},
        subcommands = {ServerBenchCommand.class, ServerPinsCommand.class, ServerEndorsementCommand.class, ServerTokenCommand.class},
        footer = {"", "Examples:", "  coffer server", "  coffer server --listen 127.0.0.1:8400 --trust-sim",
                "  coffer server --listen 0.0.0.0:8400 --tls-cert server.pem --tls-key server-key.pem",
                "  coffer server --db 'jdbc:postgresql://127.0.0.1:5432/coffer?user=coffer' --config server.yaml",
                "  COFFER_DB_URL='jdbc:postgresql://db:5432/coffer?user=coffer&password=...' COFFER_KEK=$(cat kek) \\",
                "    coffer server --listen 0.0.0.0:8400 --issuer https://coffer.example --tls-cert lb.pem --tls-key lb-key.pem",
                "  coffer server --trust-endorser 'did:x509:0:sha256:...::eku:1.3.6.1.4.1.311.76.59.1.2,ContainerPlat-AMD-UVM,100'",
                "  coffer server --min-tcb Milan:bl=3,tee=0,snp=8,ucode=115 --crl milan.crl",
                "  coffer server --trust-issuer-cert https://attest.internal:8400=3f0a...c9   # a self-signed coffer server",
                "  coffer server bench --mode release --rate 200 --seconds 60"})
public final class ServerCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML/JSON settings (listen, db, kekFile, trustSim, allowDebug, "
            + "measurements, tokenAlgorithm, tokenLifetime, maxBodyBytes, issuer).")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Listen address (default: 127.0.0.1:8400).")
    String listen;

    @Option(names = "--db", paramLabel = "JDBC-URL", defaultValue = "${env:COFFER_DB_URL}",
            description = "Key store: jdbc:postgresql://... shared by every replica (default: $COFFER_DB_URL, else SQLite "
                    + "in $COFFER_HOME/server/vault.db for one machine).")
    String db;

    @Option(names = "--issuer", paramLabel = "URL", description = "Token issuer name (default: this server's URL); replicas "
            + "behind one load balancer all use its URL.")
    String issuer;

    @Option(names = "--kek-file", paramLabel = "FILE", description = "Key-encryption key (32 bytes, raw, base64 or hex); "
            + "default: $COFFER_KEK, else $COFFER_HOME/server/kek (made on first start). Replicas need the same one.")
    Path kekFile;

    @Option(names = "--trust-sim", description = "Accept evidence from this Coffer home's simulated secure processor (development only).")
    boolean trustSim;

    @Option(names = "--allow-debug", description = "Accept guests whose SNP policy allows debugging (development only).")
    boolean allowDebug;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Certificate chain to serve (leaf first); default: the server's own, self-signed.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Private key of --tls-cert (unencrypted PEM).")
    Path tlsKey;

    @Option(names = "--accept-any-measurement", description = {"Issue tokens for ANY launch MEASUREMENT, endorsed or not (development only).",
            "Tokens then carry x-coffer-measurement-unchecked: true and no x-ms-compliance-status."})
    boolean acceptAnyMeasurement;

    @Option(names = "--trust-endorser", paramLabel = "DID[,FEED[,MINSVN]]", description = {"Also trust guest endorsements from this did:x509",
            "issuer (optionally only for FEED, only from guest SVN MINSVN up). Repeatable. This Coffer home's own",
            "endorsement key and Microsoft's UVM endorser are trusted by default."})
    java.util.List<String> trustEndorsers = new java.util.ArrayList<>();

    @Option(names = "--no-trust-home-endorser", description = "Do not trust this Coffer home's own endorsement key.")
    boolean noTrustHomeEndorser;

    @Option(names = "--min-tcb", paramLabel = "PRODUCT:COMPONENTS", description = {"Lowest REPORTED_TCB accepted for a product, e.g.",
            "Milan:bl=3,tee=0,snp=8,ucode=115 (Turin also fmc=N). Repeatable, one per product."})
    java.util.List<String> minTcb = new java.util.ArrayList<>();

    @Option(names = "--crl", paramLabel = "FILE", description = "An AMD CRL (DER or PEM) to refuse revoked VCEK/VLEK/ASK certificates. Repeatable.")
    java.util.List<Path> crls = new java.util.ArrayList<>();

    @Option(names = "--trust-issuer-cert", paramLabel = "URL=SHA256", description = {"Pin the HTTPS certificate of the remote",
            "attestation service at URL (its origin, https://host:port) by SHA-256, as its coffer server prints it",
            "(tls line / coffer server pins); its JWKS is then fetched only over that certificate. Repeatable."})
    java.util.List<String> trustIssuerCerts = new java.util.ArrayList<>();

    @Option(names = "--trust-issuer-ca", paramLabel = "URL=PEM", description = {"Check the HTTPS certificate of the remote",
            "attestation service at URL against these CA certificates (host name checked) instead of the JDK's",
            "trust store. Repeatable."})
    java.util.List<String> trustIssuerCas = new java.util.ArrayList<>();

    @Option(names = "--fetch-crls", description = "Fetch AMD's CRLs (Milan, Genoa, Turin) through the KDS cache at start; no start without them.")
    boolean fetchCrls;

    @Override
    public void run() {
        Path home = CofferHome.resolve();
        ServerConfig cfg;
        try {
            cfg = config != null ? ServerConfig.load(config, home) : ServerConfig.defaults(home);
        } catch (IOException e) {
            throw new CofferException("cannot use the server config " + config + ": " + e.getMessage());
        }
        try {
            if (listen != null) {
                String[] hp = ServerConfig.parseListen(listen);
                cfg = cfg.withListen(hp[0], Integer.parseInt(hp[1]));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (db != null && !db.isBlank()) cfg = cfg.withDb(db);
        if (issuer != null) cfg = cfg.withIssuer(issuer);
        if (kekFile != null) {
            if (!java.nio.file.Files.isRegularFile(kekFile)) throw new UsageException("--kek-file " + kekFile + ": no such file");
            cfg = cfg.withKekFile(kekFile);
        }
        if (trustSim) cfg = cfg.withTrustSim(true);
        if (allowDebug) cfg = cfg.withAllowDebug(true);
        // the issuer pins are read before anything is written (the TLS identity below): bad input changes no state
        try {
            for (String t : trustIssuerCerts) {
                var pin = dev.coffer.server.token.IssuerTrust.parseFingerprint(t);
                cfg = cfg.withIssuerTrust(pin.getKey(), pin.getValue());
            }
            for (String t : trustIssuerCas) {
                int eq = t.lastIndexOf('=');
                if (eq <= 0 || eq == t.length() - 1) {
                    throw new UsageException("--trust-issuer-ca: expected URL=PEM (the attestation service and a file of its CA"
                            + " certificates), found '" + t + "'");
                }
                Path pem = Path.of(t.substring(eq + 1));
                cfg = cfg.withIssuerTrust(t.substring(0, eq), new dev.coffer.server.client.ServerTrust.CaCertificates(
                        dev.coffer.server.tls.ServerIdentity.readCertificates(pem)));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        } catch (IOException e) {
            throw new UsageException("--trust-issuer-ca: cannot read the CA certificates: " + e.getMessage());
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new UsageException("expected --tls-cert and --tls-key together, found only " + (tlsCert != null ? "--tls-cert" : "--tls-key"));
        }
        dev.coffer.server.tls.ServerIdentity identity;
        try {
            identity = tlsCert != null ? dev.coffer.server.tls.ServerIdentity.fromPem(tlsCert, tlsKey)
                    : dev.coffer.server.tls.ServerIdentity.loadOrCreate(cfg.stateDir(), cfg.host());
        } catch (IOException e) {
            throw new CofferException("cannot use the TLS certificate: " + e.getMessage());
        }
        dev.coffer.server.AppraisalSettings a = cfg.appraisalSettings();
        try {
            if (acceptAnyMeasurement) a = a.withAcceptAnyMeasurement(true);
            if (noTrustHomeEndorser) a = a.withTrustHomeEndorser(false);
            if (fetchCrls) a = a.withFetchCrls(true);
            for (String e : trustEndorsers) a = a.withEndorser(dev.coffer.attest.endorse.TrustedEndorser.parse(e));
            for (String t : minTcb) {
                var m = dev.coffer.server.AppraisalSettings.parseMinimumTcb(t);
                a = a.withMinimumTcb(m.getKey(), m.getValue());
            }
            for (Path f : crls) {
                if (!java.nio.file.Files.isRegularFile(f)) throw new UsageException("--crl " + f + ": no such file");
                a = a.withCrlFile(f);
            }
        } catch (IllegalArgumentException | dev.coffer.attest.endorse.EndorsementFormatException e) {
            throw new UsageException(e.getMessage());
        }
        cfg = cfg.withAppraisalSettings(a);
        CofferServer server;
        try {
            server = CofferServer.start(cfg, identity);
        } catch (RuntimeException e) {
            throw new CofferException("the server did not start: " + e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("coffer server listening on " + server.url());
        out.println("  issuer      " + server.issuerName());
        out.println("  store       " + (cfg.dbUrl() == null ? "sqlite " + cfg.stateDir().resolve("vault.db")
                : dev.coffer.server.store.Dialect.redact(cfg.dbUrl()) + " (replicas on it share all state)"));
        out.println("  sim TEE     " + (cfg.trustSim() ? "TRUSTED (development only)" : "refused"));
        if (cfg.appraisalSettings().acceptAnyMeasurement()) {
            out.println("  measurement ANY ACCEPTED (--accept-any-measurement, development only): tokens say x-coffer-measurement-unchecked");
        } else {
            out.println("  measurement must be endorsed by a trusted endorser or be a reference value");
        }
        for (String e : server.trustedEndorsers()) out.println("  endorser    " + e);
        cfg.issuerTrust().byOrigin().forEach((origin, t) -> out.println("  issuer tls  " + origin + " pinned: " + switch (t) {
            case dev.coffer.server.client.ServerTrust.PinnedCertificate p -> "certificate sha256 " + p.sha256();
            case dev.coffer.server.client.ServerTrust.CaCertificates c -> c.cas().size() + " CA certificate(s)";
            case dev.coffer.server.client.ServerTrust.SystemCas s -> "the JDK's trust store";
        }));
        out.println("  admin token " + cfg.stateDir().resolve(CofferServer.ADMIN_TOKEN_FILE) + " (if this server created it)");
        out.println("  tls         " + (tlsCert != null ? tlsCert : "self-signed, " + cfg.stateDir().resolve(dev.coffer.server.tls.ServerIdentity.CERT_FILE)));
        ServerPinsCommand.print(out, server.pins(), false);
        out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "coffer-server-shutdown"));
        try {
            server.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
        }
    }
}
