package dev.coffer.server;

import dev.coffer.server.client.ApiClientException;
import dev.coffer.server.client.CofferClient;
import dev.coffer.server.store.KeyEncryptionKey;
import dev.coffer.server.store.StoredKey;
import dev.coffer.server.store.VaultStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * kill -9 the server process repeatedly while 16 clients create keys; after every restart each
 * key whose creation was acknowledged (HTTP 201) must be present, with intact sealed material.
 */
abstract class DurabilityContract {
    static final int TOTAL = 1000;
    static final int ROUNDS = 5;
    static final int CLIENTS = 16;

    @TempDir
    Path home;

    /** The JDBC URL for the server, or null for the default SQLite file. */
    abstract String dbUrl() throws Exception;

    @Test
    void acknowledgedKeysSurviveKillNine() throws Exception {
        String db = dbUrl();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port;
        Map<String, String> acknowledged = new ConcurrentHashMap<>();
        AtomicInteger attempted = new AtomicInteger();
        for (int round = 0; round < ROUNDS; round++) {
            Process server = startServer(port, db);
            try {
                waitForHealth(url, server);
                CofferClient client = new CofferClient(url, Files.readString(home.resolve("server/admin-token")).strip());
                int roundTarget = TOTAL * (round + 1) / ROUNDS;
                List<Thread> clients = new ArrayList<>();
                int r = round;
                for (int t = 0; t < CLIENTS; t++) {
                    int thread = t;
                    clients.add(Thread.ofPlatform().start(() -> {
                        for (int i = 0; attempted.get() < TOTAL; i++) {
                            String name = "d-" + r + "-" + thread + "-" + i;
                            attempted.incrementAndGet();
                            try {
                                var created = client.post("/keys/" + name + "/create", Map.of("kty", "oct"));
                                acknowledged.put(name, created.path("version").asText());
                            } catch (ApiClientException e) {
                                return; // the server died under us: this creation is unacknowledged
                            }
                        }
                    }));
                }
                // Kill while the clients are still creating: once this round's share is acknowledged.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (acknowledged.size() < roundTarget * 9 / 10 && attempted.get() < TOTAL && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                server.destroyForcibly(); // SIGKILL
                server.waitFor(30, TimeUnit.SECONDS);
                for (Thread c : clients) c.join(60_000);
            } finally {
                server.destroyForcibly();
            }
        }
        assertTrue(acknowledged.size() > TOTAL / 2, "too few creations acknowledged to mean anything: " + acknowledged.size());

        // Restart and check every acknowledged key through the API and through the store itself.
        Process server = startServer(port, db);
        try {
            waitForHealth(url, server);
            CofferClient client = new CofferClient(url, Files.readString(home.resolve("server/admin-token")).strip());
            Map<String, String> listed = new java.util.HashMap<>();
            for (var k : client.get("/keys").path("keys")) listed.put(k.path("name").asText(), k.path("version").asText());
            for (var e : acknowledged.entrySet()) {
                assertEquals(e.getValue(), listed.get(e.getKey()), "acknowledged key " + e.getKey() + " lost after kill -9");
            }
            try (VaultStore store = VaultStore.open(db != null ? db : VaultStore.sqliteUrl(home.resolve("server/vault.db")),
                    KeyEncryptionKey.fromFile(home.resolve("server/kek")))) {
                for (var e : acknowledged.entrySet()) {
                    StoredKey k = store.version(e.getKey(), e.getValue()).orElseThrow();
                    assertEquals(32, store.material(k).length, "material of " + e.getKey() + " intact");
                }
            }
        } finally {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private Process startServer(int port, String db) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.coffer.server.ServerProcess", "--home", home.toString(), "--listen", "127.0.0.1:" + port,
                // durability, not TLS, is under test here: the loopback plain-HTTP listener API tests use
                "--plain-http-loopback"));
        if (db != null) cmd.addAll(List.of("--db", db));
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("server-process.log").toFile())).start();
    }

    private void waitForHealth(String url, Process server) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) fail("server exited: " + Files.readString(home.resolve("server-process.log")));
            try {
                if (Fixture.call("GET", url + "/health", null, null).status() == 200) return;
            } catch (java.io.IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        // Say where it is stuck: a thread dump of the server process.
        String jcmd = Path.of(ProcessHandle.current().info().command().orElse("java")).resolveSibling("jcmd").toString();
        Process dump = new ProcessBuilder(jcmd, Long.toString(server.pid()), "Thread.print").redirectErrorStream(true).start();
        String threads = new String(dump.getInputStream().readAllBytes());
        fail("server did not become healthy in 180 s: " + Files.readString(home.resolve("server-process.log")) + "\n" + threads);
    }
}
