package dev.coffer.cli.key;

import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a key and all its versions. There is no undo.",
        footer = {"", "Example:", "  coffer key delete old-key"})
public final class KeyDeleteCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public void run() {
        var r = vault.call(c -> c.delete("/keys/" + name));
        spec.commandLine().getOut().println("deleted " + name + " (" + r.path("versions").asInt() + " version(s))");
        spec.commandLine().getOut().flush();
    }
}
