package dev.coffer.server;

import java.nio.file.Path;

/**
 * A bare process entry point for the server, for tests that must kill it (durability) and for
 * load runs without the CLI: {@code java -cp ... dev.coffer.server.ServerProcess --home DIR
 * [--listen HOST:PORT] [--db JDBC-URL] [--issuer NAME] [--kek-file FILE] [--trust-sim] [--plain-http-loopback]}.
 * Users run {@code coffer server}. Replicas share {@code --db}, {@code --issuer} and the KEK.
 * {@code --plain-http-loopback} serves plain HTTP on a loopback address only, for tests that
 * measure something other than TLS (durability under kill -9); the product path is HTTPS.
 */
public final class ServerProcess {
    private ServerProcess() {}

    public static void main(String[] args) throws Exception {
        Path home = null;
        ServerConfig config = null;
        String listen = null;
        String db = null;
        String issuer = null;
        Path kekFile = null;
        boolean trustSim = false;
        boolean plainHttpLoopback = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--home" -> home = Path.of(args[++i]);
                case "--listen" -> listen = args[++i];
                case "--db" -> db = args[++i];
                case "--issuer" -> issuer = args[++i];
                case "--kek-file" -> kekFile = Path.of(args[++i]);
                case "--trust-sim" -> trustSim = true;
                case "--plain-http-loopback" -> plainHttpLoopback = true;
                default -> {
                    System.err.println("unknown argument " + args[i] + "; expected --home DIR [--listen HOST:PORT] [--db URL] [--issuer NAME] [--kek-file FILE] "
                            + "[--trust-sim] [--plain-http-loopback]");
                    System.exit(2);
                }
            }
        }
        if (home == null) {
            System.err.println("--home DIR is required");
            System.exit(2);
        }
        config = ServerConfig.defaults(home).withTrustSim(trustSim);
        if (listen != null) {
            String[] hp = ServerConfig.parseListen(listen);
            config = config.withListen(hp[0], Integer.parseInt(hp[1]));
        }
        if (db != null) config = config.withDb(db);
        if (issuer != null) config = config.withIssuer(issuer);
        if (kekFile != null) config = config.withKekFile(kekFile);
        CofferServer server = plainHttpLoopback ? CofferServer.startPlainHttpOnLoopback(config) : CofferServer.start(config);
        System.out.println("listening " + server.url());
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        server.join();
    }
}
