package dev.coffer.cli.server;

import dev.coffer.cli.CofferException;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.client.ServerTrust;
import dev.coffer.server.tls.ServerIdentity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Where the server of a Coffer home is, and its admin token, for client commands. */
public final class ServerEndpoint {
    private ServerEndpoint() {}

    /** The URL a running server wrote, else the default listen address. */
    public static String url(Path home) {
        Path f = home.resolve("server").resolve(CofferServer.ENDPOINT_FILE);
        try {
            return Files.readString(f).strip();
        } catch (IOException e) {
            return "https://" + ServerConfig.DEFAULT_HOST + ":" + ServerConfig.DEFAULT_PORT;
        }
    }

    /**
     * How a client checks the server's HTTPS certificate: the fingerprint given, else the CA
     * certificates given, else (for this home's own server) the certificate it wrote in its
     * state, pinned by fingerprint; else the JDK's trust store.
     */
    public static ServerTrust trust(Path home, Path ca, String fingerprint) {
        if (fingerprint != null) {
            try {
                return new ServerTrust.PinnedCertificate(fingerprint);
            } catch (IllegalArgumentException e) {
                throw new dev.coffer.cli.UsageException("--server-fingerprint: " + e.getMessage());
            }
        }
        try {
            if (ca != null) return new ServerTrust.CaCertificates(ServerIdentity.readCertificates(ca));
            Path own = home.resolve("server").resolve(CofferServer.ENDPOINT_CERT_FILE);
            if (Files.exists(own)) return new ServerTrust.PinnedCertificate(ServerIdentity.fromCertificate(own).fingerprint());
        } catch (IOException e) {
            throw new CofferException("cannot read the server certificate: " + e.getMessage());
        }
        return ServerTrust.SYSTEM;
    }

    /** $COFFER_ADMIN_TOKEN, else the token file the server wrote on first start. */
    public static String adminToken(Path home) {
        String env = System.getenv("COFFER_ADMIN_TOKEN");
        if (env != null && !env.isBlank()) return env.strip();
        Path f = home.resolve("server").resolve(CofferServer.ADMIN_TOKEN_FILE);
        try {
            return Files.readString(f).strip();
        } catch (NoSuchFileException e) {
            throw new CofferException("no admin token: " + f + " does not exist; pass --token or set COFFER_ADMIN_TOKEN "
                    + "(a server writes its first token there when its store has none)");
        } catch (IOException e) {
            throw new CofferException("cannot read the admin token " + f + ": " + e.getMessage());
        }
    }
}
