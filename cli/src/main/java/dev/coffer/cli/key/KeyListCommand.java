package dev.coffer.cli.key;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;

@Command(name = "list", mixinStandardHelpOptions = true, description = "List the vault's keys (latest version of each).",
        footer = {"", "Example:", "  coffer key list -o json"})
public final class KeyListCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Override
    public void run() {
        JsonNode keys = vault.call(c -> c.get("/keys")).path("keys");
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, keys);
            return;
        }
        if (keys.isEmpty()) {
            out.println("no keys; create one with 'coffer key create NAME'");
        } else {
            out.printf("%-32s %-10s %-8s %-11s %s%n", "NAME", "TYPE", "VERSION", "EXPORTABLE", "CREATED");
            for (JsonNode k : keys) {
                out.printf("%-32s %-10s %-8s %-11s %s%n", k.path("name").asText(), k.path("type").asText(),
                        "#" + k.path("version_number").asInt(), k.path("exportable").asBoolean() ? "yes" : "no", k.path("created").asText());
            }
        }
        out.flush();
    }
}
