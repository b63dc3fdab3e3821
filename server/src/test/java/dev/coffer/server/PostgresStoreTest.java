package dev.coffer.server;

class PostgresStoreTest extends StoreContract {
    @Override
    String newDatabaseUrl() throws Exception {
        return PostgresServer.get().createDatabase();
    }
}
