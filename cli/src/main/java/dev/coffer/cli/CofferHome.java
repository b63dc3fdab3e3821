package dev.coffer.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where Coffer keeps its state: {@code $COFFER_HOME}, else {@code ~/.local/share/coffer}. */
public final class CofferHome {
    private CofferHome() {}

    public static Path resolve() {
        // The system property lets in-process tests point the CLI at a scratch home.
        String env = System.getProperty("coffer.home", System.getenv("COFFER_HOME"));
        Path home = env != null && !env.isBlank()
                ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".local", "share", "coffer");
        try {
            Files.createDirectories(home);
        } catch (java.io.IOException e) {
            throw new CofferException("cannot create the Coffer home " + home + " (" + e.getMessage()
                    + "); set COFFER_HOME to a writable directory");
        }
        return home.toAbsolutePath();
    }
}
