package dev.coffer.cli.key;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.server.ServerEndpoint;
import dev.coffer.server.client.ApiClientException;
import dev.coffer.server.client.CofferClient;
import picocli.CommandLine.Option;

import java.util.function.Function;

/** {@code --server} and {@code --token} for every {@code coffer key} command. */
public final class VaultOptions {
    @Option(names = "--server", paramLabel = "URL", description = "Key vault URL (default: the running 'coffer server' of this Coffer home).")
    String server;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Admin token (default: $COFFER_ADMIN_TOKEN or $COFFER_HOME/server/admin-token).")
    String token;

    @Option(names = "--ca", paramLabel = "FILE", description = "PEM CA certificate(s) the server's HTTPS certificate must chain to.")
    java.nio.file.Path ca;

    @Option(names = "--server-fingerprint", paramLabel = "SHA256", description = "SHA-256 of the server's certificate (coffer server prints it);"
            + " default: the certificate of this home's own server, else the JDK's trust store.")
    String fingerprint;

    CofferClient client() {
        var home = CofferHome.resolve();
        return new CofferClient(server != null ? server : ServerEndpoint.url(home), token != null ? token : ServerEndpoint.adminToken(home),
                ServerEndpoint.trust(home, ca, fingerprint));
    }

    /** Runs a call, turning the server's error into a one-line CLI failure with its stable code. */
    public <T> T call(Function<CofferClient, T> work) {
        try {
            return work.apply(client());
        } catch (ApiClientException e) {
            throw new CofferException(e.getMessage() + " [" + e.code() + "]");
        }
    }
}
