package dev.coffer.cli.key;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

@Command(name = "audit", mixinStandardHelpOptions = true, description = {"Show the key release audit log, newest first: every release decision with its",
        "time, key, version, token jti, claims digest, verdict and reason."},
        footer = {"", "Example:", "  coffer key audit --key app-key --limit 20"})
public final class KeyAuditCommand implements Runnable {
    @Mixin CommonOptions common;
    @Mixin OutputOption output;
    @Mixin VaultOptions vault;
    @Spec CommandSpec spec;

    @Option(names = "--key", paramLabel = "NAME", description = "Only decisions about this key.")
    String key;

    @Option(names = "--limit", defaultValue = "50", description = "At most this many entries (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public void run() {
        if (limit < 1) throw new UsageException("--limit must be at least 1");
        String q = "/audit?limit=" + limit + (key == null ? "" : "&key=" + URLEncoder.encode(key, StandardCharsets.UTF_8));
        JsonNode entries = vault.call(c -> c.get(q)).path("entries");
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, entries);
            return;
        }
        if (entries.isEmpty()) out.println("no release decisions recorded" + (key == null ? "" : " for " + key));
        for (JsonNode e : entries) {
            out.printf("%s %-8s %s%s jti=%s%s%n  %s%n", e.path("time").asText(), e.path("verdict").asText(), e.path("key").asText(),
                    e.path("version").isNull() ? "" : "/" + e.path("version").asText(), e.path("jti").asText("-"),
                    e.path("code").isNull() ? "" : " [" + e.path("code").asText() + "]", e.path("reason").asText());
        }
        out.flush();
    }
}
