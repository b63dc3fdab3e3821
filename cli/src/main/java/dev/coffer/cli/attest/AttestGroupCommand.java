package dev.coffer.cli.attest;

import dev.coffer.attest.verify.CheckResult;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.ExitCodes;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.runtime.attest.GroupAttestation;
import dev.coffer.runtime.group.GroupManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.Callable;

/** {@code coffer attest group NAME}: challenge a running group for a fresh report and verify it. */
@Command(name = "group", mixinStandardHelpOptions = true,
        description = {"Challenge a running group's TEE for a fresh attestation report through its agent and",
                "verify it: signature and chain (an SNP group against AMD's pinned roots only, a sim group",
                "against this $COFFER_HOME's simulated secure processor only), REPORT_DATA bound to a fresh random nonce, and MEASUREMENT and HOST_DATA",
                "equal to what `coffer run` recorded. Exit 0 only when every check passes."},
        footer = {"", "Exit codes: 0 attested; 1 a check failed (the reason is printed) or the group cannot be asked.",
                "", "Examples:", "  coffer run web.yaml -d --tee sim && coffer attest group web",
                "  coffer attest group web -o json"})
public final class AttestGroupCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP", description = "The group, as `coffer ps` lists it.")
    String group;

    @Option(names = "--nonce", paramLabel = "HEX",
            description = "The challenge (1..32 bytes in hex); default: 32 fresh random bytes.")
    String nonce;

    @Override
    public Integer call() {
        byte[] challenge = challenge();
        GroupAttestation.Outcome outcome;
        try {
            outcome = GroupAttestation.attest(new GroupManager(CofferHome.resolve()), group, challenge);
        } catch (IOException | IllegalStateException e) {
            throw new CofferException(e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, outcome);
        } else {
            out.println("group: " + outcome.group());
            out.println("tee: " + outcome.teeNotice());
            out.println("measurement: " + outcome.measurement());
            out.println("host data: " + outcome.hostData());
            out.println("nonce: " + outcome.nonce());
            out.println("report data: " + outcome.reportData());
            out.println("chip id: " + outcome.chipId());
            out.println("reported TCB: " + outcome.reportedTcb() + (outcome.product().isEmpty() ? "" : " (" + outcome.product() + ")"));
            for (CheckResult c : outcome.checks()) {
                out.printf("  %-4s %-28s %s%n", c.status().name().toLowerCase(java.util.Locale.ROOT), c.name(), c.detail());
            }
            out.println(outcome.valid() ? "verdict: attested" : "verdict: NOT attested: " + outcome.reason());
        }
        out.flush();
        if (!outcome.valid() && !output.json()) {
            spec.commandLine().getErr().println("coffer: group " + group + " is not attested: " + outcome.reason());
            spec.commandLine().getErr().flush();
        }
        return outcome.valid() ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    private byte[] challenge() {
        if (nonce == null) {
            byte[] b = new byte[32];
            new SecureRandom().nextBytes(b);
            return b;
        }
        try {
            byte[] b = HexFormat.of().parseHex(nonce);
            if (b.length >= 1 && b.length <= 32) return b;
        } catch (IllegalArgumentException ignored) {
            // reported below
        }
        throw new UsageException("expected --nonce of 1..32 bytes in hex (2..64 hex digits), found \"" + nonce + "\"");
    }
}
