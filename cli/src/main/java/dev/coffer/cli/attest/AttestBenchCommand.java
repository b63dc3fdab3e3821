package dev.coffer.cli.attest;

import dev.coffer.attest.bench.EndorsementBenchmark;
import dev.coffer.attest.bench.VerificationBenchmark;
import dev.coffer.attest.endorse.EndorsementKey;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code coffer attest bench}: report verifications per second with a cached chain. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure SNP report verification throughput (parse + chain from cache + ECDSA P-384",
                "signature + all checks) on reports from the simulated secure processor, which runs the",
                "very same verifier code as real evidence. Prints verifications/s and p50/p99 latency."},
        footer = {"", "Examples:", "  coffer attest bench --seconds 10 --threads 2",
                "  coffer attest bench --endorsements --seconds 5"})
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

    @Override
    public void run() {
        if (seconds < 1 || seconds > 600) throw new UsageException("--seconds must be 1..600, found " + seconds);
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
