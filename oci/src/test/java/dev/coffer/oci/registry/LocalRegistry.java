package dev.coffer.oci.registry;

import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real Docker registry (Debian's {@code docker-registry}, distribution 2.8) on 127.0.0.1 with
 * its storage in a temporary directory: optionally with htpasswd (Basic) or token (Bearer) auth.
 */
final class LocalRegistry implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/docker-registry");

    private final Process process;
    private final Path log;
    final int port;

    private LocalRegistry(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    String host() {
        return "127.0.0.1:" + port;
    }

    URI base() {
        return URI.create("http://" + host() + "/v2/");
    }

    static LocalRegistry anonymous(Path dir) throws Exception {
        return start(dir, "");
    }

    /** htpasswd auth with one user; the bcrypt hash is made here, no apache2-utils needed. */
    static LocalRegistry withBasicAuth(Path dir, String user, String password) throws Exception {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        String hash = OpenBSDBCrypt.generate("2a", password.toCharArray(), salt, 6);
        Path htpasswd = dir.resolve("htpasswd");
        Files.createDirectories(dir);
        Files.writeString(htpasswd, user + ":" + hash + "\n");
        return start(dir, """
                auth:
                  htpasswd:
                    realm: coffer-test
                    path: %s
                """.formatted(htpasswd));
    }

    /** Token auth: the registry trusts JWTs from {@code tokens}, which it names as realm. */
    static LocalRegistry withTokenAuth(Path dir, TokenServer tokens) throws Exception {
        Files.createDirectories(dir);
        Path bundle = dir.resolve("token-root.pem");
        Files.writeString(bundle, tokens.certificatePem());
        return start(dir, """
                auth:
                  token:
                    realm: %s
                    service: %s
                    issuer: %s
                    rootcertbundle: %s
                """.formatted(tokens.realm(), TokenServer.SERVICE, TokenServer.ISSUER, bundle));
    }

    private static LocalRegistry start(Path dir, String authYaml) throws Exception {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException("expected the registry binary " + BINARY + ", found none; install it with"
                    + " 'apt-get install --no-install-recommends docker-registry'");
        }
        Files.createDirectories(dir.resolve("storage"));
        int port = freePort();
        Path config = dir.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: info
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                  secret: coffer-test-secret
                %s""".formatted(dir.resolve("storage"), port, authYaml));
        Path log = dir.resolve("registry.log");
        Process p = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        LocalRegistry r = new LocalRegistry(p, log, port);
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("docker-registry exited with " + p.exitValue() + ": "
                            + Files.readString(log));
                }
                try {
                    HttpResponse<Void> resp = http.send(HttpRequest.newBuilder(r.base()).timeout(Duration.ofSeconds(2))
                            .build(), HttpResponse.BodyHandlers.discarding());
                    if (resp.statusCode() == 200 || resp.statusCode() == 401) return r;
                } catch (IOException notYet) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline) {
                    r.close();
                    throw new IllegalStateException("docker-registry did not answer on " + r.base() + " within 30 s: "
                            + Files.readString(log));
                }
                Thread.sleep(50);
            }
        } catch (Exception e) {
            r.close();
            throw e;
        }
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
