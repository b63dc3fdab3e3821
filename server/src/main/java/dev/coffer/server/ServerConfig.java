package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.nimbusds.jose.JWSAlgorithm;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Everything {@code coffer server} can be told. Defaults are the embedded configuration: state
 * under {@code $COFFER_HOME/server}, SQLite, listening on 127.0.0.1, ES256 tokens valid one
 * hour, simulated evidence refused.
 *
 * @param home          the Coffer home; server state lives in {@code home/server}
 * @param host          listen address (127.0.0.1 unless told otherwise)
 * @param port          listen port; 0 picks a free one
 * @param issuer        the token issuer name; null means the server's own URL
 * @param dbUrl         JDBC URL; null means SQLite at {@code home/server/vault.db}
 * @param kekFile       key-encryption key file; null means $COFFER_KEK, else {@code home/server/kek} (created)
 * @param trustSim      accept evidence from this home's simulated secure processor
 * @param allowDebug    accept reports whose guest policy allows debugging
 * @param measurements  reference MEASUREMENT values (hex); when any are configured a report must match one
 * @param tokenAlgorithm ES256 (default) or RS256
 * @param tokenLifetime validity of issued tokens
 * @param maxBodyBytes  request body limit
 * @param clock         time source (tests pin it)
 * @param appraisalPolicy a Rego module ({@code package appraisal}, set rule {@code deny}); null means the built-in default
 * @param appraisalSettings which MEASUREMENTs and platforms earn a token (endorsers, minimum TCB, CRLs); fails closed by default
 * @param issuerTrust   how remote attestation services' HTTPS certificates are checked when their JWKS is fetched
 *                      (pinned fingerprints or CAs per origin; others against the JDK's trust store)
 */
public record ServerConfig(Path home, String host, int port, String issuer, String dbUrl, Path kekFile, boolean trustSim,
                           boolean allowDebug, List<String> measurements, JWSAlgorithm tokenAlgorithm, Duration tokenLifetime,
                           int maxBodyBytes, Clock clock, Path appraisalPolicy,
                           AppraisalSettings appraisalSettings, dev.coffer.server.token.IssuerTrust issuerTrust) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8400;

    public ServerConfig {
        measurements = List.copyOf(measurements);
        for (String m : measurements) {
            if (!m.matches("[0-9a-fA-F]{96}")) {
                throw new IllegalArgumentException("reference measurement '" + m + "' is not 48 bytes of hex (96 digits)");
            }
        }
        if (!tokenAlgorithm.equals(JWSAlgorithm.ES256) && !tokenAlgorithm.equals(JWSAlgorithm.RS256)) {
            throw new IllegalArgumentException("token algorithm must be ES256 or RS256, found " + tokenAlgorithm);
        }
        java.util.Objects.requireNonNull(appraisalSettings, "appraisalSettings");
        issuerTrust = issuerTrust == null ? dev.coffer.server.token.IssuerTrust.NONE : issuerTrust;
        if (tokenLifetime.isNegative() || tokenLifetime.isZero()) {
            throw new IllegalArgumentException("token lifetime must be positive, found " + tokenLifetime);
        }
    }

    /** The embedded defaults for a Coffer home. */
    public static ServerConfig defaults(Path home) {
        return new ServerConfig(home, DEFAULT_HOST, DEFAULT_PORT, null, null, null, false, false, List.of(),
                JWSAlgorithm.ES256, Duration.ofHours(1), 256 * 1024, Clock.systemUTC(), null, AppraisalSettings.defaults(), dev.coffer.server.token.IssuerTrust.NONE);
    }

    public Path stateDir() {
        return home.resolve("server");
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(home, host, p, issuer, dbUrl, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withListen(String h, int p) {
        return new ServerConfig(home, h, p, issuer, dbUrl, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withDb(String url) {
        return new ServerConfig(home, host, port, issuer, url, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withTrustSim(boolean v) {
        return new ServerConfig(home, host, port, issuer, dbUrl, kekFile, v, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withAllowDebug(boolean v) {
        return new ServerConfig(home, host, port, issuer, dbUrl, kekFile, trustSim, v, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withClock(Clock c) {
        return new ServerConfig(home, host, port, issuer, dbUrl, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, c, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withToken(JWSAlgorithm alg, Duration lifetime) {
        return new ServerConfig(home, host, port, issuer, dbUrl, kekFile, trustSim, allowDebug, measurements, alg,
                lifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withMeasurements(List<String> m) {
        return new ServerConfig(home, host, port, issuer, dbUrl, kekFile, trustSim, allowDebug, m, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withKekFile(Path f) {
        return new ServerConfig(home, host, port, issuer, dbUrl, f, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    public ServerConfig withAppraisalPolicy(Path file) {
        return new ServerConfig(home, host, port, issuer, dbUrl, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, file, appraisalSettings, issuerTrust);
    }

    public ServerConfig withAppraisalSettings(AppraisalSettings a) {
        return new ServerConfig(home, host, port, issuer, dbUrl, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, a, issuerTrust);
    }

    /** Also check {@code issuer}'s HTTPS certificate against {@code trust} (a pinned fingerprint or CA certificates). */
    public ServerConfig withIssuerTrust(String issuer, dev.coffer.server.client.ServerTrust trust) {
        return new ServerConfig(home, host, port, this.issuer, dbUrl, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust.with(issuer, trust));
    }

    public ServerConfig withIssuer(String i) {
        return new ServerConfig(home, host, port, i, dbUrl, kekFile, trustSim, allowDebug, measurements, tokenAlgorithm,
                tokenLifetime, maxBodyBytes, clock, appraisalPolicy, appraisalSettings, issuerTrust);
    }

    private static final Set<String> FILE_KEYS = Set.of("listen", "issuer", "db", "kekFile", "trustSim", "allowDebug",
            "measurements", "tokenAlgorithm", "tokenLifetime", "maxBodyBytes", "appraisalPolicy", "acceptAnyMeasurement",
            "trustHomeEndorser", "trustEndorsers", "minimumTcb", "crlFiles", "fetchCrls", "trustIssuerCerts", "trustIssuerCas");

    /**
     * Reads a YAML (or JSON) config file over the defaults. Keys: {@code listen: 127.0.0.1:8400},
     * {@code issuer}, {@code db}, {@code kekFile}, {@code trustSim}, {@code allowDebug},
     * {@code measurements: [hex, ...]}, {@code tokenAlgorithm: ES256|RS256},
     * {@code tokenLifetime: PT1H}, {@code maxBodyBytes}, {@code trustIssuerCerts: ["https://host:port=SHA256"]},
     * {@code trustIssuerCas: ["https://host:port=ca.pem"]}. Unknown keys are an error.
     */
    public static ServerConfig load(Path file, Path home) throws IOException {
        JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        ServerConfig c = defaults(home);
        if (root == null || root.isNull()) return c;
        if (!root.isObject()) throw new IOException(file + ": expected a mapping of settings, found " + root.getNodeType());
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!FILE_KEYS.contains(k)) throw new IOException(file + ": unknown setting '" + k + "'; known: " + FILE_KEYS.stream().sorted().toList());
        }
        try {
            if (root.has("listen")) {
                String[] hp = parseListen(root.get("listen").asText());
                c = c.withListen(hp[0], Integer.parseInt(hp[1]));
            }
            if (root.has("issuer")) c = c.withIssuer(root.get("issuer").asText());
            if (root.has("db")) c = c.withDb(root.get("db").asText());
            if (root.has("kekFile")) c = c.withKekFile(file.toAbsolutePath().getParent().resolve(root.get("kekFile").asText()));
            if (root.has("appraisalPolicy")) c = c.withAppraisalPolicy(file.toAbsolutePath().getParent().resolve(root.get("appraisalPolicy").asText()));
            if (root.has("trustSim")) c = c.withTrustSim(bool(root, "trustSim", file));
            if (root.has("allowDebug")) c = c.withAllowDebug(bool(root, "allowDebug", file));
            if (root.has("measurements")) {
                List<String> ms = new ArrayList<>();
                for (JsonNode m : root.get("measurements")) ms.add(m.asText().toLowerCase());
                c = c.withMeasurements(ms);
            }
            if (root.has("tokenAlgorithm") || root.has("tokenLifetime")) {
                c = c.withToken(root.has("tokenAlgorithm") ? JWSAlgorithm.parse(root.get("tokenAlgorithm").asText()) : c.tokenAlgorithm,
                        root.has("tokenLifetime") ? Duration.parse(root.get("tokenLifetime").asText()) : c.tokenLifetime);
            }
            c = c.withAppraisalSettings(appraisalSettings(root, file, c.appraisalSettings));
            // trustIssuerCerts: ["https://host:port=SHA256", ...]; trustIssuerCas: ["https://host:port=ca.pem", ...] (relative to the file)
            for (String t : strings(root, "trustIssuerCerts", file)) {
                var pin = dev.coffer.server.token.IssuerTrust.parseFingerprint(t);
                c = c.withIssuerTrust(pin.getKey(), pin.getValue());
            }
            for (String t : strings(root, "trustIssuerCas", file)) {
                int eq = t.lastIndexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("trustIssuerCas: expected URL=PEM-FILE, found '" + t + "'");
                c = c.withIssuerTrust(t.substring(0, eq), new dev.coffer.server.client.ServerTrust.CaCertificates(
                        dev.coffer.server.tls.ServerIdentity.readCertificates(file.toAbsolutePath().getParent().resolve(t.substring(eq + 1)))));
            }
            if (root.has("maxBodyBytes")) {
                int max = root.get("maxBodyBytes").asInt();
                if (max < 4096 || max > 64 * 1024 * 1024) throw new IOException("maxBodyBytes must be 4096..67108864, found " + max);
                c = new ServerConfig(c.home, c.host, c.port, c.issuer, c.dbUrl, c.kekFile, c.trustSim, c.allowDebug,
                        c.measurements, c.tokenAlgorithm, c.tokenLifetime, max, c.clock, c.appraisalPolicy, c.appraisalSettings, c.issuerTrust);
            }
        } catch (IllegalArgumentException | java.time.format.DateTimeParseException | dev.coffer.attest.endorse.EndorsementFormatException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
        return c;
    }

    /**
     * {@code acceptAnyMeasurement: bool}, {@code trustHomeEndorser: bool}, {@code trustEndorsers:
     * ["DID[,FEED[,MINSVN]]", ...]}, {@code minimumTcb: ["Milan:bl=3,tee=0,snp=8,ucode=115", ...]},
     * {@code crlFiles: [path, ...]} (relative to the file), {@code fetchCrls: bool}.
     */
    private static AppraisalSettings appraisalSettings(JsonNode root, Path file, AppraisalSettings a) throws IOException {
        if (root.has("acceptAnyMeasurement")) a = a.withAcceptAnyMeasurement(bool(root, "acceptAnyMeasurement", file));
        if (root.has("trustHomeEndorser")) a = a.withTrustHomeEndorser(bool(root, "trustHomeEndorser", file));
        if (root.has("fetchCrls")) a = a.withFetchCrls(bool(root, "fetchCrls", file));
        for (String e : strings(root, "trustEndorsers", file)) a = a.withEndorser(dev.coffer.attest.endorse.TrustedEndorser.parse(e));
        for (String t : strings(root, "minimumTcb", file)) {
            var min = AppraisalSettings.parseMinimumTcb(t);
            a = a.withMinimumTcb(min.getKey(), min.getValue());
        }
        for (String f : strings(root, "crlFiles", file)) a = a.withCrlFile(file.toAbsolutePath().getParent().resolve(f));
        return a;
    }

    private static List<String> strings(JsonNode root, String k, Path file) throws IOException {
        if (!root.has(k)) return List.of();
        if (!root.get(k).isArray()) throw new IOException(file + ": '" + k + "' must be a list of strings");
        List<String> out = new ArrayList<>();
        for (JsonNode n : root.get(k)) {
            if (!n.isTextual()) throw new IOException(file + ": '" + k + "' must be a list of strings, found " + n.getNodeType());
            out.add(n.asText());
        }
        return out;
    }

    /** {@code HOST:PORT} (IPv6 as {@code [::1]:PORT}). */
    public static String[] parseListen(String listen) {
        int colon = listen.lastIndexOf(':');
        if (colon <= 0 || colon == listen.length() - 1) {
            throw new IllegalArgumentException("listen address '" + listen + "' is not HOST:PORT, e.g. 127.0.0.1:8400");
        }
        String host = listen.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        String port = listen.substring(colon + 1);
        if (!port.matches("\\d{1,5}") || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("listen port '" + port + "' is not a number 0..65535");
        }
        return new String[] {host, port};
    }

    private static boolean bool(JsonNode root, String k, Path file) throws IOException {
        if (!root.get(k).isBoolean()) throw new IOException(file + ": '" + k + "' must be true or false");
        return root.get(k).booleanValue();
    }

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }
}
