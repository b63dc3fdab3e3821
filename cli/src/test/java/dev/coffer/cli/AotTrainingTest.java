package dev.coffer.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The launcher's training run answers every command's help and prints nothing of its own. */
class AotTrainingTest {
    @Test
    void everyHelpExitsZeroAndNothingReachesTheConsole() {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(console, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            System.setErr(capture);
            // throws, naming the invocation, if any help exits non-zero
            assertDoesNotThrow(() -> AotTraining.main(new String[0]));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        assertEquals("", console.toString(StandardCharsets.UTF_8));
    }
}
