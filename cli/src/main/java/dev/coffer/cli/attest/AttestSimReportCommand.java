package dev.coffer.cli.attest;

import dev.coffer.attest.measure.HostData;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code coffer attest sim-report}: a report from the simulated secure processor, for trying the verifier. */
@Command(name = "sim-report", mixinStandardHelpOptions = true,
        description = {"Produce an SNP report from the simulated secure processor under $COFFER_HOME/sim-tee",
                "(created on first use), with the given MEASUREMENT, HOST_DATA and REPORT_DATA, and write",
                "it with the simulated chain (vcek.pem, cert_chain.pem) next to it. Development only:",
                "verifiers accept such reports only with --trust-sim."},
        footer = {"", "Example:",
                "  coffer attest sim-report --policy policy.rego --report-data 00 --out /tmp/sim",
                "  coffer attest verify --report /tmp/sim/report.bin --trust-sim"})
public final class AttestSimReportCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for report.bin, vcek.pem and cert_chain.pem.")
    Path out;

    @Option(names = "--measurement", paramLabel = "HEX", description = "48-byte MEASUREMENT (default: all zeros).")
    String measurement;

    @Option(names = "--host-data", paramLabel = "HEX", description = "32-byte HOST_DATA (default: all zeros).")
    String hostData;

    @Option(names = "--policy", paramLabel = "FILE", description = "Set HOST_DATA to SHA-256 of this policy file instead.")
    Path policy;

    @Option(names = "--report-data", paramLabel = "HEX", defaultValue = "",
            description = "Up to 64 bytes of REPORT_DATA (a nonce), zero-padded.")
    String reportData;

    @Option(names = "--sim-dir", paramLabel = "DIR", description = "The simulated secure processor to use (default: $COFFER_HOME/sim-tee).")
    Path simDir;

    @Override
    public void run() {
        byte[] m = measurement == null ? new byte[48] : AttestInputs.hex("--measurement", measurement, 48);
        byte[] h = policy != null ? HostData.ofPolicy(AttestInputs.read(policy, "policy"))
                : hostData == null ? new byte[32] : AttestInputs.hex("--host-data", hostData, 32);
        byte[] data = reportData.isBlank() ? new byte[64] : AttestInputs.paddedHex("--report-data", reportData, 64);
        SimulatedSecureProcessor sp;
        try {
            sp = SimulatedSecureProcessor.openOrCreate(AttestInputs.simDirectory(simDir));
        } catch (RuntimeException e) {
            throw new CofferException(e.getMessage(), e);
        }
        SimLaunch launch = sp.launch(m, h);
        byte[] report = launch.report(data);
        try {
            Files.createDirectories(out);
            Files.write(out.resolve("report.bin"), report);
            Files.writeString(out.resolve("vcek.pem"), sp.vcekPem());
            Files.writeString(out.resolve("cert_chain.pem"), sp.chainPem());
        } catch (IOException e) {
            throw new CofferException("cannot write to " + out + " (" + e.getMessage() + ")");
        }
        HexFormat hex = HexFormat.of();
        if (output.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("report", out.resolve("report.bin").toString());
            j.put("vcek", out.resolve("vcek.pem").toString());
            j.put("chain", out.resolve("cert_chain.pem").toString());
            j.put("measurement", hex.formatHex(m));
            j.put("host_data", hex.formatHex(h));
            j.put("sim_root_sha256", sp.ark().sha256Fingerprint());
            Json.print(spec.commandLine().getOut(), j);
        } else {
            var w = spec.commandLine().getOut();
            w.println("wrote " + out.resolve("report.bin") + " (simulated; sim root sha256 " + sp.ark().sha256Fingerprint() + ")");
            w.println("  measurement " + hex.formatHex(m));
            w.println("  host_data   " + hex.formatHex(h));
            w.println("verify with: coffer attest verify --report " + out.resolve("report.bin") + " --trust-sim");
            w.flush();
        }
    }
}
