package dev.coffer.server;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real PostgreSQL server from the Debian packages, started for the tests on 127.0.0.1 and a
 * free port, its data and unix socket in a temporary directory, run as user {@code postgres}
 * (initdb refuses root). One per JVM; stopped by a shutdown hook. Each caller gets its own database.
 */
final class PostgresServer {
    static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
    private static PostgresServer instance;

    final Path dir;
    final int port;

    private PostgresServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    static synchronized PostgresServer get() throws Exception {
        if (instance != null) return instance;
        assumeTrue(Files.isExecutable(BIN.resolve("initdb")), "PostgreSQL 15 is not installed: apt-get install -y postgresql");
        assumeTrue("root".equals(System.getProperty("user.name")), "starting PostgreSQL as user postgres needs root (runuser)");
        Path dir = Files.createTempDirectory("coffer-pg-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        run(List.of("chown", "postgres:postgres", dir.toString()));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path data = dir.resolve("data");
        run(List.of("runuser", "-u", "postgres", "--", BIN.resolve("initdb").toString(), "-D", data.toString(),
                "--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync"));
        run(List.of("runuser", "-u", "postgres", "--", BIN.resolve("pg_ctl").toString(), "-D", data.toString(),
                "-l", dir.resolve("log").toString(), "-w", "-t", "60", "start",
                "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=on"));
        PostgresServer pg = new PostgresServer(dir, port);
        Runtime.getRuntime().addShutdownHook(new Thread(pg::stop));
        instance = pg;
        return pg;
    }

    /** A fresh, empty database; returns its JDBC URL. */
    String createDatabase() throws Exception {
        String name = "coffer_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = DriverManager.getConnection(url("postgres")); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        return url(name);
    }

    String url(String db) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db + "?user=postgres";
    }

    /** Stops the server as an outage would (fast shutdown: sessions are cut), keeping its data. */
    void pause() throws IOException, InterruptedException {
        run(List.of("runuser", "-u", "postgres", "--", BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(),
                "-m", "fast", "-w", "-t", "60", "stop"));
    }

    /** Starts it again on the same port, with the data it had. */
    void resume() throws IOException, InterruptedException {
        run(List.of("runuser", "-u", "postgres", "--", BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(),
                "-l", dir.resolve("log").toString(), "-w", "-t", "60", "start",
                "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=on"));
    }

    void stop() {
        try {
            run(List.of("runuser", "-u", "postgres", "--", BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(),
                    "-m", "immediate", "-w", "-t", "30", "stop"));
            run(List.of("rm", "-rf", dir.toString()));
        } catch (Exception e) {
            System.err.println("could not stop the test PostgreSQL in " + dir + ": " + e.getMessage());
        }
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in 120 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + new String(out));
        }
    }
}
