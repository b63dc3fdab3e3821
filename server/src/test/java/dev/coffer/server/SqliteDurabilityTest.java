package dev.coffer.server;

class SqliteDurabilityTest extends DurabilityContract {
    @Override
    String dbUrl() {
        return null;
    }
}
