package dev.coffer.cli.key;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.Json;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Text rendering shared by the key commands, and reading JSON files given on the command line. */
final class KeyOutput {
    private KeyOutput() {}

    static void printKey(PrintWriter out, JsonNode k) {
        out.println("name        " + k.path("name").asText());
        out.println("version     " + k.path("version").asText() + " (#" + k.path("version_number").asInt() + ")");
        out.println("type        " + k.path("type").asText());
        out.println("created     " + k.path("created").asText());
        out.println("exportable  " + k.path("exportable").asBoolean());
        if (k.has("release_policy")) {
            out.println("policy      " + (k.path("policy_immutable").asBoolean() ? "(immutable) " : "") + k.path("release_policy"));
        }
        if (k.has("public_jwk")) out.println("public key  " + k.path("public_jwk"));
        if (k.has("versions")) {
            out.println("versions    " + k.path("versions").size());
            for (JsonNode v : k.path("versions")) {
                out.println("  #" + v.path("version_number").asInt() + " " + v.path("version").asText() + " " + v.path("created").asText());
            }
        }
        out.flush();
    }

    static JsonNode readJsonFile(Path file, String what) {
        try {
            return Json.MAPPER.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new CofferException(what + " file " + file + " does not exist");
        } catch (IOException e) {
            throw new CofferException(what + " file " + file + " is not valid JSON: " + e.getMessage().split("\n")[0]);
        }
    }
}
