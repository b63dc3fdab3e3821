package dev.coffer.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "coffer",
        mixinStandardHelpOptions = true,
        versionProvider = CofferVersion.class,
        subcommands = {picocli.CommandLine.HelpCommand.class},
        description = {
                "Confidential containers: run OCI images in an attested sandbox whose contents are",
                "pinned by a policy enforced inside it.",
                "",
                "Start with 'coffer demo'. Every command explains itself with --help."},
        footer = {"",
                "Exit codes: 0 success, 1 failure, 2 usage error.",
                "Environment: COFFER_HOME (default ~/.local/share/coffer) holds images, groups and keys."})
public final class CofferCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
