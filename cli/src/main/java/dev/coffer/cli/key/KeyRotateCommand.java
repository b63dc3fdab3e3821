package dev.coffer.cli.key;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.Map;

@Command(name = "rotate", mixinStandardHelpOptions = true, description = "Make a new version of a key with fresh material; policy and exportability carry over.",
        footer = {"", "Example:", "  coffer key rotate app-key"})
public final class KeyRotateCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public void run() {
        var key = vault.call(c -> c.post("/keys/" + name + "/rotate", Map.of()));
        if (output.json()) Json.print(spec.commandLine().getOut(), key);
        else KeyOutput.printKey(spec.commandLine().getOut(), key);
    }
}
