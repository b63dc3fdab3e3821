package dev.coffer.cli.key;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
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

@Command(name = "policy", mixinStandardHelpOptions = true, description = {"Print a key's release policy, or replace it with the one in FILE",
        "(validated by the server; refused when the policy is immutable)."},
        footer = {"", "Examples:", "  coffer key policy app-key", "  coffer key policy app-key new-policy.json --immutable"})
public final class KeyPolicyCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "FILE", arity = "0..1", description = "New release policy (JSON).")
    Path file;

    @Option(names = "--version", paramLabel = "VERSION", description = "The version to change (default: the latest).")
    String version;

    @Option(names = "--immutable", description = "Make the new policy immutable.")
    boolean immutable;

    @Override
    public void run() {
        if (file == null) {
            if (immutable) throw new UsageException("--immutable needs a policy FILE");
            var key = vault.call(c -> c.get("/keys/" + name + (version == null ? "" : "/" + version)));
            Json.print(spec.commandLine().getOut(), key.path("release_policy"));
            return;
        }
        Map<String, Object> body = new HashMap<>();
        body.put("release_policy", KeyOutput.readJsonFile(file, "release policy"));
        body.put("immutable", immutable);
        if (version != null) body.put("version", version);
        var key = vault.call(c -> c.put("/keys/" + name + "/policy", body));
        spec.commandLine().getOut().println("release policy of " + name + " version " + key.path("version").asText() + " updated"
                + (immutable ? " (now immutable)" : ""));
        spec.commandLine().getOut().flush();
    }
}
