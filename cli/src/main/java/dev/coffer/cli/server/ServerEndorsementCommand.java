package dev.coffer.cli.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.UsageException;
import dev.coffer.cli.key.VaultOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;

/** {@code coffer server endorsement add|ls|rm}: guest endorsements registered with a running server. */
@Command(name = "endorsement", mixinStandardHelpOptions = true,
        description = {"Guest endorsements (COSE_Sign1 UVM reference info) registered with the attestation service.",
                "A registered endorsement counts for every report with its MEASUREMENT, as one sent with the",
                "evidence does; either way it is verified against the server's trusted endorsers."},
        subcommands = {ServerEndorsementCommand.Add.class, ServerEndorsementCommand.Ls.class, ServerEndorsementCommand.Rm.class},
        footer = {"", "Examples:", "  coffer server endorsement add guest/endorsement.cose", "  coffer server endorsement ls",
                "  coffer server endorsement rm 3f2a...(64 hex digits)"})
public final class ServerEndorsementCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        throw new UsageException("expected a subcommand: add, ls or rm");
    }

    /** A COSE document is at most this big (GuestEndorsement's limit); a larger file is refused before it is read. */
    static final long MAX_FILE = 64 * 1024;

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Register the endorsement in FILE (a COSE_Sign1 document).")
    static final class Add implements Runnable {
        @Mixin CommonOptions common;
        @Mixin OutputOption output;
        @Mixin VaultOptions vault;
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "FILE", description = "The endorsement (binary COSE_Sign1, as coffer guest build writes it).")
        Path file;

        @Override
        public void run() {
            byte[] cose;
            try {
                long size = Files.size(file);
                if (size > MAX_FILE) {
                    throw new CofferException(file + " is " + size + " bytes; a guest endorsement is at most " + MAX_FILE);
                }
                cose = Files.readAllBytes(file);
            } catch (NoSuchFileException e) {
                throw new CofferException("no such endorsement file: " + file);
            } catch (IOException e) {
                throw new CofferException("cannot read " + file + ": " + e.getMessage());
            }
            JsonNode r = vault.call(c -> c.post("/admin/endorsements",
                    Map.of("endorsement", Base64.getUrlEncoder().withoutPadding().encodeToString(cose))));
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, r);
            } else {
                out.println((r.path("added").asBoolean() ? "registered " : "already registered ") + r.path("digest").asText());
                out.println("  measurement " + r.path("measurement").asText());
                out.println("  issuer      " + r.path("issuer").asText());
                out.println("  feed        " + r.path("feed").asText() + ", svn " + r.path("svn").asText());
                out.println("  verifies    " + (r.path("verifies").asBoolean() ? "yes" : "NO: " + r.path("verdict").asText()));
                if (r.has("warning")) out.println("warning: " + r.path("warning").asText());
            }
            out.flush();
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List registered endorsements and the trusted endorsers.")
    static final class Ls implements Runnable {
        @Mixin CommonOptions common;
        @Mixin OutputOption output;
        @Mixin VaultOptions vault;
        @Spec CommandSpec spec;

        @Override
        public void run() {
            JsonNode r = vault.call(c -> c.get("/admin/endorsements"));
            PrintWriter out = spec.commandLine().getOut();
            if (output.json()) {
                Json.print(out, r);
                return;
            }
            out.println("trusted endorsers:");
            for (JsonNode t : r.path("trusted_endorsers")) {
                out.println("  " + t.path("did").asText() + (t.has("feed") ? "  feed " + t.path("feed").asText() : "  any feed")
                        + "  svn >= " + t.path("minimum_svn").asLong());
            }
            if (r.path("endorsements").isEmpty()) {
                out.println("no registered endorsements; add one with 'coffer server endorsement add FILE'");
            } else {
                out.printf("%-64s %-16s %-6s %s%n", "DIGEST", "MEASUREMENT", "SVN", "FEED");
                for (JsonNode e : r.path("endorsements")) {
                    out.printf("%-64s %-16s %-6s %s%n", e.path("digest").asText(), e.path("measurement").asText().substring(0, 16),
                            e.path("svn").asText(), e.path("feed").asText());
                }
            }
            out.flush();
        }
    }

    @Command(name = "rm", aliases = "remove", mixinStandardHelpOptions = true, description = "Remove a registered endorsement by its digest.")
    static final class Rm implements Runnable {
        @Mixin CommonOptions common;
        @Mixin VaultOptions vault;
        @Spec CommandSpec spec;
        @Parameters(paramLabel = "DIGEST", description = "SHA-256 of the endorsement (64 hex digits, as 'ls' shows).")
        String digest;

        @Override
        public void run() {
            if (!digest.matches("[0-9a-fA-F]{64}")) {
                throw new UsageException("DIGEST must be the endorsement's SHA-256 (64 hex digits, see 'coffer server endorsement ls'), found '"
                        + digest + "'");
            }
            vault.call(c -> c.delete("/admin/endorsements/" + digest.toLowerCase()));
            spec.commandLine().getOut().println("removed " + digest.toLowerCase());
            spec.commandLine().getOut().flush();
        }
    }
}
