package dev.coffer.cli.attest;

import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code coffer attest}: verify SEV-SNP evidence, real or simulated. */
@Command(name = "attest", mixinStandardHelpOptions = true,
        description = {"Check attestation evidence: parse and verify AMD SEV-SNP reports against AMD's",
                "pinned roots (or, when asked, the simulated secure processor's), challenge a running",
                "group for a fresh report (`attest group`), compute the MEASUREMENT an SNP launch will have",
                "(`attest snp-measure`), and measure how fast."},
        subcommands = {AttestVerifyCommand.class, AttestGroupCommand.class, AttestSimReportCommand.class, AttestSnpMeasureCommand.class,
                AttestBenchCommand.class},
        footer = {"", "Example:", "  coffer attest verify --report report.bin --vcek vcek.der",
                "  coffer attest verify --report report.bin --trust-sim -o json",
                "  coffer attest group web",
                "  coffer attest snp-measure --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.fd --kernel vmlinuz"})
public final class AttestCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
