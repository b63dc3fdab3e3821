package dev.coffer.cli.policy;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.policy.gen.GeneratedPolicy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code coffer policy hash POLICY.rego}: the HOST_DATA value of an existing policy file. */
@Command(name = "hash",
        description = {"Print the SHA-256 of a policy file's exact bytes: the HOST_DATA a sandbox",
                "launched with this policy carries in every attestation report."},
        footer = {"", "Example:", "  coffer policy hash policy.rego"})
public final class PolicyHashCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "POLICY.rego", description = "The policy file.")
    Path policy;

    @Override
    public void run() {
        String text = PolicyFiles.readPolicy(policy);
        String hash = GeneratedPolicy.sha256Hex(text);
        if (output.json()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", policy.toString());
            m.put("sha256", hash);
            Json.print(spec.commandLine().getOut(), m);
        } else {
            spec.commandLine().getOut().println(hash);
            spec.commandLine().getOut().flush();
        }
    }
}
