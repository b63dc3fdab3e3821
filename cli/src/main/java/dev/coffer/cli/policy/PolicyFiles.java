package dev.coffer.cli.policy;

import dev.coffer.cli.CofferException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reading policy files: strict UTF-8, so the hash is of exactly the bytes on disk. */
final class PolicyFiles {
    private PolicyFiles() {}

    static String readPolicy(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CofferException("policy file " + file + " does not exist; generate one with `coffer policy gen GROUP.yaml -o "
                    + file + "`");
        } catch (IOException e) {
            throw new CofferException("cannot read policy file " + file + ": " + e.getMessage());
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CofferException("policy file " + file + " is not valid UTF-8 text; a Rego policy must be UTF-8");
        }
    }
}
