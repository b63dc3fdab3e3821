package dev.coffer.server;

class PostgresDurabilityTest extends DurabilityContract {
    @Override
    String dbUrl() throws Exception {
        return PostgresServer.get().createDatabase();
    }
}
