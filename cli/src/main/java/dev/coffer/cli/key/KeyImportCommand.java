package dev.coffer.cli.key;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

@Command(name = "import", mixinStandardHelpOptions = true, description = "Import a private JWK (oct 256-bit, RSA 2048/3072, EC P-256/P-384) into the vault.",
        footer = {"", "Example:", "  coffer key import disk-key --jwk key.jwk.json --policy release-policy.json"})
public final class KeyImportCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "Key name: letters, digits, dashes.")
    String name;

    @Option(names = "--jwk", paramLabel = "FILE", required = true, description = "The private key as a JWK (JSON).")
    Path jwk;

    @Option(names = "--policy", paramLabel = "FILE", description = "Release policy (JSON); makes the key exportable.")
    Path policy;

    @Option(names = "--immutable", description = "The release policy can never be changed.")
    boolean immutable;

    @Override
    public void run() {
        if (immutable && policy == null) throw new UsageException("--immutable needs --policy");
        Map<String, Object> body = new HashMap<>();
        body.put("key", KeyOutput.readJsonFile(jwk, "JWK"));
        if (policy != null) {
            body.put("exportable", true);
            body.put("release_policy", KeyOutput.readJsonFile(policy, "release policy"));
            body.put("immutable", immutable);
        }
        var created = vault.call(c -> c.put("/keys/" + name, body));
        if (output.json()) Json.print(spec.commandLine().getOut(), created);
        else KeyOutput.printKey(spec.commandLine().getOut(), created);
    }
}
