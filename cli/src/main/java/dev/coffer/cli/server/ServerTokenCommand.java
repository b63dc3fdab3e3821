package dev.coffer.cli.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.cli.key.VaultOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Map;

/** {@code coffer server token create|ls|revoke}: admin API tokens of a running server. */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = {"Admin API tokens. Only their SHA-256 is stored; a token is shown once, when created.",
                "A revoked token is refused at once by every server sharing the store."},
        subcommands = {ServerTokenCommand.Create.class, ServerTokenCommand.Ls.class, ServerTokenCommand.Revoke.class},
        footer = {"", "Examples:", "  coffer server token create --label ci", "  coffer server token ls",
                "  coffer server token revoke 0123456789abcdef"})
public final class ServerTokenCommand implements Runnable {
    @Override
    public void run() {
        throw new UsageException("expected a subcommand: create, ls or revoke");
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create an admin token and print it (once).")
    static final class Create implements Runnable {
        @Mixin CommonOptions common;
        @Mixin OutputOption output;
        @Mixin VaultOptions vault;
        @Spec CommandSpec spec;
        @Option(names = "--label", required = true, paramLabel = "TEXT", description = "Who or what holds the token.")
        String label;

        @Override
        public void run() {
            JsonNode r = vault.call(c -> c.post("/admin/tokens", Map.of("label", label)));
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) Json.print(out, r);
            else out.println(r.path("token").asText() + "\n  id " + r.path("id").asText() + " (shown once; keep it secret)");
            out.flush();
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List admin tokens (ids and labels, never the tokens).")
    static final class Ls implements Runnable {
        @Mixin CommonOptions common;
        @Mixin OutputOption output;
        @Mixin VaultOptions vault;
        @Spec CommandSpec spec;

        @Override
        public void run() {
            JsonNode r = vault.call(c -> c.get("/admin/tokens"));
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, r.path("tokens"));
            } else {
                out.printf("%-16s %-24s %s%n", "ID", "CREATED", "LABEL");
                for (JsonNode t : r.path("tokens")) {
                    out.printf("%-16s %-24s %s%n", t.path("id").asText(), t.path("created").asText(), t.path("label").asText());
                }
            }
            out.flush();
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke an admin token by id (refused at once from then on).")
    static final class Revoke implements Runnable {
        @Mixin CommonOptions common;
        @Mixin VaultOptions vault;
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "ID", description = "The token's id (16 hex digits, as 'ls' shows).")
        String id;

        @Override
        public void run() {
            if (!id.matches("[0-9a-f]{16}")) {
                throw new UsageException("ID must be 16 lower-case hex digits (see 'coffer server token ls'), found '" + id + "'");
            }
            vault.call(c -> c.delete("/admin/tokens/" + id));
            spec.commandLine().getOut().println("revoked " + id);
            spec.commandLine().getOut().flush();
        }
    }
}
