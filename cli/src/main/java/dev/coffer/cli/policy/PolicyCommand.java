package dev.coffer.cli.policy;

import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code coffer policy}: generate, hash, simulate and benchmark confidential container policies. */
@Command(name = "policy",
        description = {"Generate the Rego policy that pins what a group may run, hash it (HOST_DATA),",
                "replay host requests against it offline, and benchmark its enforcement."},
        subcommands = {PolicyGenCommand.class, PolicyHashCommand.class, PolicySimulateCommand.class,
                PolicyBenchCommand.class},
        footer = {"", "Example:", "  coffer policy gen group.yaml -o policy.rego",
                "  coffer policy simulate policy.rego requests.json"})
public final class PolicyCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
