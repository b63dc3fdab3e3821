package dev.coffer.cli.key;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "show", mixinStandardHelpOptions = true, description = "Show a key: type, versions, release policy and public part (never the private material).",
        footer = {"", "Example:", "  coffer key show app-key"})
public final class KeyShowCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(names = "--version", paramLabel = "VERSION", description = "A specific version (default: the latest, with the version list).")
    String version;

    @Override
    public void run() {
        var key = vault.call(c -> c.get("/keys/" + name + (version == null ? "" : "/" + version)));
        if (output.json()) Json.print(spec.commandLine().getOut(), key);
        else KeyOutput.printKey(spec.commandLine().getOut(), key);
    }
}
