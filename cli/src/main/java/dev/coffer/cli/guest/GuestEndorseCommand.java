package dev.coffer.cli.guest;

import dev.coffer.attest.endorse.DidX509;
import dev.coffer.attest.endorse.EndorsementFormatException;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.endorse.EndorsementSigner;
import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.attest.endorse.TrustedEndorser;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.runtime.guest.GuestEndorsements;
import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code coffer guest endorse}: sign a guest endorsement with the home key or a key and chain the user brings. */
@Command(name = "endorse", mixinStandardHelpOptions = true,
        description = {"Endorse a launch measurement: a COSE_Sign1 in Azure's UVM reference-info format, signed with",
                "--key and --chain (an organisation's release-signing CA; PKCS#8 key, PEM chain leaf first),",
                "or with the home's endorsement key when neither is given. The issuer is a did:x509 over the",
                "chain's root: give --issuer, or the leaf's single extended key usage is used. The endorsement",
                "is checked (chain valid now, issuer resolves, signature) before it is kept in",
                "$COFFER_HOME/guest/endorsements (and written to --out)."},
        footer = {"", "Examples:",
                "  coffer guest endorse --microvm",
                "  coffer guest endorse --key release.key --chain release-chain.pem --feed acme-guest --process",
                "  coffer guest endorse --key k.pem --chain c.pem --feed f --measurement 5e3f...a1 --svn 3 --out guest.cose"})
public final class GuestEndorseCommand implements Runnable {
    @Spec
    CommandSpec spec;
    @ParentCommand
    GuestCommand parent;
    @Mixin
    CommonOptions common;
    @Mixin
    OutputOption output;

    @Option(names = "--key", paramLabel = "FILE", description = "The signing key: PKCS#8 PEM (EC P-384/P-256 or RSA).")
    Path key;

    @Option(names = "--chain", paramLabel = "FILE", description = "The signing certificate and its CA certificates, PEM, leaf first.")
    Path chain;

    @Option(names = "--feed", paramLabel = "NAME", description = "The feed the endorsement is published under (default with the home key: coffer-guest).")
    String feed;

    @Option(names = "--issuer", paramLabel = "DID", description = "The did:x509 issuer (default: the chain's root with the leaf's extended key usage).")
    String issuer;

    @Option(names = "--svn", paramLabel = "N", defaultValue = "1", description = "The guest SVN to state (default: ${DEFAULT-VALUE}).")
    long svn;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the endorsement (COSE_Sign1 bytes) here.")
    Path out;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--measurement", paramLabel = "HEX", description = "Endorse this launch measurement (96 hex digits).")
        String measurement;

        @Option(names = "--microvm", description = "Endorse the built microVM guest's measurement (coffer guest measure).")
        boolean microvm;

        @Option(names = "--process", description = "Endorse the process sandbox's --tee sim measurement for the launch flags below.")
        boolean process;
    }

    @Option(names = "--runtime", paramLabel = "RUNTIME", defaultValue = "auto", description = "With --process: the group's OCI runtime flag (default: ${DEFAULT-VALUE}).")
    String runtime;

    @Option(names = "--skr-port", paramLabel = "PORT", description = "With --process: the group's SKR API port, if it has one.")
    Integer skrPort;

    @Option(names = "--skr-endpoint", paramLabel = "HOST:PORT", description = "With --process and --skr-port: an SKR endpoint of the group (repeatable).")
    List<String> skrEndpoints = new ArrayList<>();

    @Option(names = "--forward-port", paramLabel = "PORT", description = "With --process: a port the group forwards (repeatable).")
    List<Integer> forwardPorts = new ArrayList<>();

    @Override
    public void run() {
        if ((key == null) != (chain == null)) throw new UsageException("--key and --chain go together (or give neither to sign with the home's endorsement key)");
        if (svn < 0) throw new UsageException("--svn expects a non-negative number, found " + svn);
        if (!target.process && (skrPort != null || !skrEndpoints.isEmpty() || !forwardPorts.isEmpty() || !runtime.equals("auto"))) {
            throw new UsageException("--runtime, --skr-port, --skr-endpoint and --forward-port describe a process sandbox launch; use them with --process");
        }
        String measurement = measurement();
        Path home = parent.home();

        PrivateKey signingKey;
        List<X509Certificate> certificates;
        String did;
        if (key == null) {
            EndorsementKey homeKey = GuestEndorsements.homeKey(home);
            if (issuer != null) throw new UsageException("--issuer needs --key and --chain; the home key's issuer is " + homeKey.did());
            if (feed != null && !feed.equals(homeKey.feed())) throw new UsageException("--feed needs --key and --chain; the home key publishes under " + homeKey.feed());
            store(home, homeKey.sign(measurement, svn), target.process ? GuestEndorsements.Kind.PROCESS
                    : target.microvm ? GuestEndorsements.Kind.MICROVM : GuestEndorsements.Kind.MEASUREMENT);
            return;
        }
        if (feed == null || feed.isBlank()) throw new UsageException("--feed NAME is required with --key and --chain (e.g. the product the guest belongs to)");
        try {
            signingKey = EndorsementKey.readKey(read(key, "key"));
        } catch (GeneralSecurityException e) {
            throw new CofferException("--key " + key + ": " + e.getMessage());
        }
        try {
            certificates = EndorsementKey.readChain(read(chain, "chain"));
        } catch (CertificateException e) {
            throw new CofferException("--chain " + chain + ": not a PEM certificate chain (" + e.getMessage() + ")");
        }
        if (certificates.size() < 2) {
            throw new CofferException("--chain " + chain + " holds " + certificates.size() + " certificate; expected the signing certificate followed by its CA certificate(s)");
        }
        did = issuer != null ? issuer : defaultIssuer(certificates);
        try {
            DidX509 parsed = DidX509.parse(did);
            parsed.mismatch(certificates).ifPresent(m -> {
                throw new CofferException("--issuer " + did + " does not resolve against --chain " + chain + ": " + m);
            });
        } catch (EndorsementFormatException e) {
            throw new UsageException("--issuer: " + e.getMessage());
        }
        byte[] cose;
        try {
            cose = EndorsementSigner.sign(measurement, svn, feed, signingKey, certificates, did);
        } catch (IllegalArgumentException e) {
            throw new CofferException(e.getMessage());
        }
        // Fail closed: keep nothing a verifier would refuse for its own reasons (expired chain, broken links).
        EndorsementVerdict self = EndorsementVerifier.verify(GuestEndorsement.parse(cose), measurement, Instant.now(),
                List.of(new TrustedEndorser(did, feed, 0)));
        if (!self.endorsed()) throw new CofferException("the endorsement would not verify, so it was not written: " + self.summary());
        store(home, cose, target.process ? GuestEndorsements.Kind.PROCESS : target.microvm ? GuestEndorsements.Kind.MICROVM : GuestEndorsements.Kind.MEASUREMENT);
    }

    private String measurement() {
        if (target.measurement != null) {
            String m = target.measurement.strip().toLowerCase(java.util.Locale.ROOT);
            if (m.startsWith("0x")) m = m.substring(2);
            if (!m.matches("[0-9a-f]{96}")) {
                throw new UsageException("--measurement expects 96 hex digits (a 48-byte launch measurement), found '" + target.measurement + "'");
            }
            return m;
        }
        try {
            if (target.microvm) {
                GuestImage guest = parent.loadGuest();
                return HexFormat.of().formatHex(GuestCommand.measure(guest).compute());
            }
            return ProcessSandboxBackend.simMeasurementHex(runtime, skrPort, skrEndpoints, forwardPorts);
        } catch (IOException e) {
            throw new CofferException("cannot compute the measurement to endorse: " + e.getMessage(), e);
        }
    }

    private static String defaultIssuer(List<X509Certificate> certificates) {
        List<String> ekus;
        try {
            ekus = certificates.getFirst().getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new CofferException("the signing certificate's extended key usage cannot be read (" + e.getMessage() + "); give --issuer DID");
        }
        if (ekus == null || ekus.size() != 1) {
            throw new UsageException("the signing certificate has " + (ekus == null ? "no" : ekus.size()) + " extended key usages, so the issuer is ambiguous;"
                    + " give --issuer, e.g. did:x509:0:sha256:" + DidX509.fingerprint(certificates.getLast(), "sha256") + "::subject:CN:<the leaf's CN>");
        }
        return DidX509.forChain(certificates, "eku", ekus.getFirst());
    }

    private static String read(Path file, String what) {
        try {
            if (Files.size(file) > 1 << 20) throw new CofferException("--" + what + " " + file + " is larger than 1 MiB; expected a PEM file");
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CofferException("--" + what + " " + file + " does not exist");
        } catch (IOException e) {
            throw new CofferException("cannot read --" + what + " " + file + " (" + e.getMessage() + ")");
        }
    }

    private void store(Path home, byte[] cose, GuestEndorsements.Kind kind) {
        GuestEndorsements.Entry entry;
        try {
            if (out != null) Files.write(out, cose);
            entry = GuestEndorsements.store(home, kind, cose);
        } catch (IOException e) {
            throw new CofferException("cannot write the endorsement (" + e.getMessage() + ")", e);
        }
        GuestEndorsement e = entry.endorsement();
        PrintWriter pw = spec.commandLine().getOut();
        if (output.json()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", entry.kind());
            m.put("measurement", e.launchMeasurement());
            m.put("issuer", e.issuer());
            m.put("feed", e.feed());
            m.put("guestSvn", e.guestSvn());
            m.put("algorithm", e.algorithm().name());
            m.put("file", entry.file().toString());
            if (out != null) m.put("out", out.toString());
            Json.print(pw, m);
            return;
        }
        pw.println("endorsed " + e.launchMeasurement() + " (" + entry.kind() + ", svn " + e.guestSvn() + ")");
        pw.println("  issuer " + e.issuer());
        pw.println("  feed   " + e.feed());
        pw.println("  file   " + entry.file() + (out != null ? " and " + out : ""));
        pw.println("trust it with: --trust-endorser '" + e.issuer() + "," + e.feed() + "'");
        pw.flush();
    }
}
