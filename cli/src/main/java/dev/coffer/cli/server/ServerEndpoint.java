package dev.coffer.cli.server;

import dev.coffer.cli.CofferException;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;

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
            return "http://" + ServerConfig.DEFAULT_HOST + ":" + ServerConfig.DEFAULT_PORT;
        }
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
