package dev.coffer.oci.store;

import java.nio.file.Path;

/** Run as a separate JVM by {@link ImageStoreTest}: imports each layout into one store. */
public final class ImportProcessMain {
    private ImportProcessMain() {}

    public static void main(String[] args) throws Exception {
        try (ImageStore store = ImageStore.open(Path.of(args[0]))) {
            for (int i = 1; i < args.length; i++) {
                store.importArchive(Path.of(args[i]));
            }
        }
    }
}
