package dev.coffer.cli.rego;

import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code coffer rego}: evaluate, check, conformance-test and benchmark Rego with Coffer's engine. */
@Command(name = "rego",
        description = {"Coffer's Rego engine: evaluate queries like 'opa eval', check modules for errors,",
                "run OPA's conformance cases and benchmark a generated confidential-container policy."},
        subcommands = {RegoEvalCommand.class, RegoCheckCommand.class, RegoConformanceCommand.class, RegoBenchCommand.class},
        footer = {"", "Examples:", "  coffer rego eval -d policy.rego -i input.json data.policy.create_container",
                "  coffer rego check policy.rego", "  coffer rego conformance ../shared/testdata/opa-conformance/v1",
                "  coffer rego bench"})
public final class RegoCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
