package dev.coffer.cli.attest;

import dev.coffer.attest.bench.EndorsementBenchmark;
import dev.coffer.attest.bench.VerificationBenchmark;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.verify.SnpVerifier;
import dev.coffer.attest.verify.VerifierPolicy;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code coffer attest bench}: report verifications per second with a cached chain. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure SNP report verification throughput (parse + chain from cache + ECDSA P-384",
                "signature + all checks) on reports from the simulated secure processor, which runs the",
                "very same verifier code as real evidence. Prints verifications/s and p50/p99 latency.",
                "--mode sgx|tdx measures Intel DCAP quote verification instead, on a quote you give",
                "(--quote, with --collateral and --at for the full collateral path)."},
        footer = {"", "Examples:", "  coffer attest bench --seconds 10 --threads 2",
                "  coffer attest bench --endorsements --seconds 5",
                "  coffer attest bench --mode tdx --quote tdx_quote_4.dat --collateral collateral.json --at 2023-07-01T00:00:00Z"})
public final class AttestBenchCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--seconds", defaultValue = "5", description = "Measured duration (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--threads", defaultValue = "2", description = "Worker threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--sim-dir", paramLabel = "DIR", description = "The simulated secure processor to use (default: $COFFER_HOME/sim-tee).")
    Path simDir;

    @Option(names = "--endorsements", description = "Measure guest endorsement appraisal instead (COSE_Sign1 parse + chain, did:x509,"
            + " ES384 signature and claims, one thread), with a throwaway endorsement key.")
    boolean endorsements;

    @Option(names = "--mode", defaultValue = "snp", paramLabel = "MODE", completionCandidates = Modes.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}): which evidence's verification to measure.")
    String mode;

    @Option(names = "--quote", paramLabel = "FILE", description = "With --mode sgx|tdx: the DCAP quote to verify.")
    Path quote;

    @Option(names = "--collateral", paramLabel = "FILE|DIR", description = "With --mode sgx|tdx: PCS collateral for the quote (else signatures and chain only).")
    Path collateral;

    @Option(names = "--at", paramLabel = "TIME", description = "With --mode sgx|tdx: verify as of this instant (default: now).")
    String at;

    @Override
    public void run() {
        if (seconds < 1 || seconds > 600) throw new UsageException("--seconds must be 1..600, found " + seconds);
        // the hardware kinds of the evidence model: a new TEE is a new case here, which the compiler asks for
        EvidenceKind kind = Arrays.stream(EvidenceKind.values()).filter(k -> k.hardware() && k.label().equals(mode)).findFirst()
                .orElseThrow(() -> new UsageException("--mode expects " + modes() + ", found '" + mode + "'"));
        switch (kind) {
            case SEV_SNP -> { }
            case SGX, TDX -> {
                benchDcap();
                return;
            }
            case SIMULATED -> throw new IllegalStateException("the simulated TEE is not a --mode: snp already measures its reports");
        }
        if (endorsements) {
            benchEndorsements();
            return;
        }
        if (threads < 1 || threads > 256) throw new UsageException("--threads must be 1..256, found " + threads);
        SimulatedSecureProcessor sp;
        try {
            sp = SimulatedSecureProcessor.openOrCreate(AttestInputs.simDirectory(simDir));
        } catch (RuntimeException e) {
            throw new CofferException(e.getMessage(), e);
        }
        SimLaunch launch = sp.launch(new byte[48], new byte[32]);
        List<byte[]> reports = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            byte[] nonce = new byte[64];
            nonce[0] = (byte) i;
            reports.add(launch.report(nonce));
        }
        SnpVerifier verifier = new SnpVerifier(VerifierPolicy.builder().trustSimRoot(sp.ark()).build());
        VerificationBenchmark.Result r;
        try {
            r = VerificationBenchmark.run(verifier, reports, sp.certificates(), threads, Duration.ofSeconds(2), Duration.ofSeconds(seconds));
        } catch (Exception e) {
            throw new CofferException("benchmark failed: " + e.getMessage(), e);
        }
        if (output.json()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("verifications_per_second", Math.round(r.perSecond()));
            m.put("verifications", r.verifications());
            m.put("threads", r.threads());
            m.put("seconds", r.measured().toMillis() / 1000.0);
            m.put("p50_micros", r.p50Micros());
            m.put("p99_micros", r.p99Micros());
            m.put("cpu_micros_per_verification", Math.round(r.cpuMicrosPerVerification()));
            m.put("per_core_per_second", Math.round(r.perCorePerSecond()));
            m.put("first_uncached_micros", r.coldMicros());
            Json.print(spec.commandLine().getOut(), m);
        } else {
            spec.commandLine().getOut().println(r);
            spec.commandLine().getOut().flush();
        }
    }

    /** What {@code --mode} accepts, for its help text: the hardware evidence kinds. */
    static final class Modes implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return Arrays.stream(EvidenceKind.values()).filter(EvidenceKind::hardware).map(EvidenceKind::label).iterator();
        }
    }

    /** {@code snp, sgx or tdx}: the labels of the hardware evidence kinds, in declaration order. */
    static String modes() {
        List<String> labels = Arrays.stream(EvidenceKind.values()).filter(EvidenceKind::hardware).map(EvidenceKind::label).toList();
        return String.join(", ", labels.subList(0, labels.size() - 1)) + " or " + labels.getLast();
    }

    private void benchDcap() {
        if (quote == null) throw new UsageException("--mode " + mode + " needs --quote FILE (a captured " + mode + " DCAP quote)");
        if (threads < 1 || threads > 256) throw new UsageException("--threads must be 1..256, found " + threads);
        Instant when;
        try {
            when = at == null ? Instant.now() : Instant.parse(at);
        } catch (java.time.format.DateTimeParseException e) {
            throw new UsageException("--at expects an ISO-8601 instant like 2023-07-01T00:00:00Z, found '" + at + "'");
        }
        byte[] raw = QuoteVerification.decode(AttestInputs.read(quote, "quote"));
        dev.coffer.attest.dcap.DcapQuote q;
        try {
            q = dev.coffer.attest.dcap.DcapQuote.parse(raw);
        } catch (dev.coffer.attest.dcap.QuoteFormatException e) {
            throw new CofferException(quote + ": " + e.getMessage());
        }
        if (!q.tee().label().equals(mode)) throw new UsageException("--mode " + mode + " but " + quote + " is a " + q.tee().label() + " quote");
        java.util.Optional<dev.coffer.attest.dcap.Collateral> bundle = java.util.Optional.empty();
        if (collateral != null) {
            try {
                var set = dev.coffer.attest.dcap.CollateralSet.load(collateral);
                bundle = set.find(q.tee(), dev.coffer.attest.dcap.PckExtensions.of(q.pckChain().getFirst()).fmspcHex());
                if (bundle.isEmpty()) throw new CofferException(collateral + " has no collateral for this quote (it covers " + set.covers() + ")");
            } catch (dev.coffer.attest.dcap.QuoteFormatException e) {
                throw new CofferException(e.getMessage());
            }
        }
        VerificationBenchmark.Result r;
        try {
            r = dev.coffer.attest.bench.DcapBenchmark.run(new dev.coffer.attest.dcap.DcapVerifier(), raw, bundle, when, threads,
                    Duration.ofSeconds(2), Duration.ofSeconds(seconds));
        } catch (Exception e) {
            throw new CofferException("benchmark failed: " + e.getMessage(), e);
        }
        if (output.json()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", mode);
            m.put("with_collateral", bundle.isPresent());
            m.put("verifications_per_second", Math.round(r.perSecond()));
            m.put("verifications", r.verifications());
            m.put("threads", r.threads());
            m.put("seconds", r.measured().toMillis() / 1000.0);
            m.put("p50_micros", r.p50Micros());
            m.put("p99_micros", r.p99Micros());
            m.put("cpu_micros_per_verification", Math.round(r.cpuMicrosPerVerification()));
            m.put("per_core_per_second", Math.round(r.perCorePerSecond()));
            Json.print(spec.commandLine().getOut(), m);
        } else {
            spec.commandLine().getOut().println(mode + (bundle.isPresent() ? " (with collateral): " : " (signatures and chain only): ") + r);
            spec.commandLine().getOut().flush();
        }
    }

    private void benchEndorsements() {
        EndorsementBenchmark.Result r;
        Path tmp = null;
        try {
            tmp = java.nio.file.Files.createTempDirectory("coffer-endorsement-bench-");
            EndorsementKey key = EndorsementKey.openOrCreate(tmp.resolve("endorsement"));
            String measurement = "5e".repeat(48);
            r = EndorsementBenchmark.run(key.sign(measurement, 1), measurement, List.of(key.trustedEndorser()), Duration.ofSeconds(2),
                    Duration.ofSeconds(seconds));
        } catch (java.io.IOException | RuntimeException e) {
            throw new CofferException("benchmark failed: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try (var walk = java.nio.file.Files.walk(tmp)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.deleteIfExists(p);
                } catch (java.io.IOException ignored) {
                    // a temporary directory left behind is harmless
                }
            }
        }
        if (output.json()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("appraisals_per_second", Math.round(r.perSecond()));
            m.put("appraisals", r.appraisals());
            m.put("seconds", r.measured().toMillis() / 1000.0);
            m.put("p50_micros", r.p50Micros());
            m.put("p99_micros", r.p99Micros());
            m.put("cpu_micros_per_appraisal", Math.round(r.cpuMicrosPerAppraisal()));
            m.put("document_bytes", r.documentBytes());
            Json.print(spec.commandLine().getOut(), m);
        } else {
            spec.commandLine().getOut().println(r);
            spec.commandLine().getOut().flush();
        }
    }
}
