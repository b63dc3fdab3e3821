package dev.coffer.cli.key;

import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code coffer key}: administer the key vault of a running {@code coffer server}. */
@Command(name = "key", mixinStandardHelpOptions = true,
        description = {"Create, import, inspect, rotate and delete vault keys, set their release policies",
                "(Azure Key Vault grammar) and read the release audit log. Talks to 'coffer server'."},
        subcommands = {KeyCreateCommand.class, KeyImportCommand.class, KeyListCommand.class, KeyShowCommand.class,
                KeyPolicyCommand.class, KeyRotateCommand.class, KeyDeleteCommand.class, KeyAuditCommand.class},
        footer = {"", "Examples:", "  coffer key create app-key --type oct-256 --policy release-policy.json",
                "  coffer key list", "  coffer key audit --key app-key"})
public final class KeyCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
