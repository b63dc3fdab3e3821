package dev.coffer.server;

import dev.coffer.server.store.VaultStore;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.UUID;

class SqliteStoreTest extends StoreContract {
    @TempDir
    Path dir;

    @Override
    String newDatabaseUrl() {
        return VaultStore.sqliteUrl(dir.resolve("vault-" + UUID.randomUUID() + ".db"));
    }
}
