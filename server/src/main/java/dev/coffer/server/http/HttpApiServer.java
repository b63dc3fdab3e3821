package dev.coffer.server.http;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.VirtualThreads;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Jetty 12 (core API, no servlets) serving a {@link Router}. Handlers block, so they run on
 * virtual threads. Every failure, including Jetty's own (bad HTTP), is answered with the
 * JSON error shape; bodies above the limit are refused before they are read.
 */
public final class HttpApiServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(HttpApiServer.class.getName());
    // Kept strongly reachable: java.util.logging holds loggers weakly, and the level would be lost.
    private static final Logger JETTY_LOG = Logger.getLogger("org.eclipse.jetty");

    static {
        JETTY_LOG.setLevel(Level.WARNING);
    }

    private final Server server;
    private final ServerConnector connector;
    private final boolean tls;
    /** Sees every answered request (metrics); set once the server's parts exist. */
    private final java.util.concurrent.atomic.AtomicReference<RequestObserver> observer = new java.util.concurrent.atomic.AtomicReference<>();
    /** The route label of a request no route matched (unknown path, or the server still starting). */
    public static final String UNMATCHED_ROUTE = "unmatched";

    /** What {@link #observeRequests} is told about each request once it is answered. */
    @FunctionalInterface
    public interface RequestObserver {
        /** @param failed the error code answered, null for a success */
        void observe(String method, String routeTemplate, int status, ErrorCode failed, long nanos);
    }

    /**
     * @param tls the certificate and key to serve HTTPS with; null serves plain HTTP, which is
     *            allowed on a loopback address only (tests and benchmarks on one machine)
     */
    public HttpApiServer(String host, int port, int maxBodyBytes, Router router, dev.coffer.server.tls.ServerIdentity tls) {
        if (tls == null && !dev.coffer.channel.Loopback.isLoopback(host)) {
            throw new IllegalArgumentException("expected a loopback listen address for plain HTTP, found " + host
                    + "; the key channel crosses networks only over HTTPS (give --tls-cert/--tls-key or let the server make its own)");
        }
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("coffer-http");
        threads.setVirtualThreadsExecutor(VirtualThreads.getNamedVirtualThreadsExecutor("coffer-request"));
        server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(true);
        http.setRequestHeaderSize(16 * 1024);
        if (tls == null) {
            connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        } else {
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            char[] password = new char[0];
            ssl.setKeyStore(tls.keyStore(password));
            ssl.setKeyStorePassword("");
            ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
            HttpConfiguration https = new HttpConfiguration(http);
            // clients dial IP addresses (no SNI) as often as names; the certificate names both
            https.addCustomizer(new SecureRequestCustomizer(false));
            connector = new ServerConnector(server, 1, 1, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(https));
        }
        this.tls = tls != null;
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(30_000);
        server.addConnector(connector);
        server.setHandler(new ApiHandler(router, maxBodyBytes, observer));
        server.setErrorHandler(HttpApiServer::jettyError);
    }

    /** Tells {@code o} about every request answered from now on. */
    public void observeRequests(RequestObserver o) {
        observer.set(o);
    }

    public void start() throws Exception {
        server.start();
    }

    /** {@code https} or {@code http}. */
    public String scheme() {
        return tls ? "https" : "http";
    }

    public int port() {
        return connector.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    public void join() throws InterruptedException {
        server.join();
    }

    /** Jetty's own errors (malformed HTTP, header too large): same JSON shape as ours. */
    private static boolean jettyError(Request request, Response response, Callback callback) {
        Object status = request.getAttribute("org.eclipse.jetty.server.error_status");
        int code = status instanceof Integer i ? i : response.getStatus();
        if (code < 400) code = 400;
        String message = request.getAttribute("org.eclipse.jetty.server.error_message") instanceof String s
                ? s : "the HTTP request could not be processed";
        String body = Json.string(Map.of("error", Map.of("code", code >= 500 ? "internal_error" : "malformed_request",
                "message", "HTTP " + code + ": " + message)));
        response.setStatus(code);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
        return true;
    }

    private static final class ApiHandler extends Handler.Abstract {
        private final Router router;
        private final int maxBodyBytes;
        private final java.util.concurrent.atomic.AtomicReference<RequestObserver> observer;

        ApiHandler(Router router, int maxBodyBytes, java.util.concurrent.atomic.AtomicReference<RequestObserver> observer) {
            super(InvocationType.BLOCKING);
            this.router = router;
            this.maxBodyBytes = maxBodyBytes;
            this.observer = observer;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            long started = System.nanoTime();
            String[] route = {UNMATCHED_ROUTE};
            ErrorCode failed = null;
            HttpResponse answer;
            try {
                answer = dispatch(request, route);
            } catch (ApiException e) {
                failed = e.code();
                HttpResponse error = HttpResponse.error(e.code(), e.getMessage());
                answer = e.headers().isEmpty() ? error : new HttpResponse(error.status(), error.contentType(), error.body(), e.headers());
            } catch (RuntimeException | Error e) {
                if (e instanceof dev.coffer.server.store.StoreException se && se.unavailable()) {
                    // The database is down or restarting. The driver's words (hosts, ports) stay in the
                    // server: the store probe logs the outage once, not once per request.
                    failed = ErrorCode.STORE_UNAVAILABLE;
                    answer = HttpResponse.error(failed, "the key store's database does not answer, so this request "
                            + "is not confirmed; retry once it is back (GET /readyz says when)");
                    answer = new HttpResponse(answer.status(), answer.contentType(), answer.body(), Map.of("Retry-After", "1"));
                } else {
                    failed = ErrorCode.INTERNAL_ERROR;
                    // A bug: log it (messages never carry secrets) and answer without details.
                    LOG.log(Level.SEVERE, "request " + request.getMethod() + " " + request.getHttpURI().getPath() + " failed", e);
                    answer = HttpResponse.error(ErrorCode.INTERNAL_ERROR,
                            "the server failed to process the request; the server log has details");
                }
            }
            response.setStatus(answer.status());
            if (answer.contentType() != null) {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, answer.contentType());
            }
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
            answer.headers().forEach((k, v) -> response.getHeaders().put(k, v));
            // How long the parsed request waited for a thread to run this handler: together with the
            // route's own queue and handle times it splits a slow answer into where the time went.
            String timing = String.format(Locale.ROOT, "recv;dur=%.3f", (started - request.getBeginNanoTime()) / 1e6);
            String routeTiming = answer.headers().get("Server-Timing");
            response.getHeaders().put("Server-Timing", routeTiming == null ? timing : timing + ", " + routeTiming);
            if (request.getMethod().equals("HEAD")) {
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, answer.body().length);
                response.write(true, null, callback);
            } else {
                response.write(true, ByteBuffer.wrap(answer.body()), callback);
            }
            RequestObserver o = observer.get();
            if (o != null) o.observe(request.getMethod(), route[0], answer.status(), failed, System.nanoTime() - started);
            return true;
        }

        private HttpResponse dispatch(Request request, String[] route) {
            String method = request.getMethod();
            String path = request.getHttpURI().getDecodedPath();
            if (path == null) path = "/";
            Router.Match match = router.match(method, path);
            route[0] = match.template();
            byte[] body = readBody(request);
            Map<String, String> headers = new HashMap<>();
            for (HttpField f : request.getHeaders()) {
                headers.putIfAbsent(f.getName().toLowerCase(Locale.ROOT), f.getValue());
            }
            Map<String, String> query = new HashMap<>();
            String rawQuery = request.getHttpURI().getQuery();
            if (rawQuery != null) {
                for (String pair : rawQuery.split("&")) {
                    if (pair.isEmpty()) continue;
                    int eq = pair.indexOf('=');
                    try {
                        String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                        String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                        query.putIfAbsent(k, v);
                    } catch (IllegalArgumentException e) {
                        throw new ApiException(ErrorCode.MALFORMED_REQUEST, "query string is not valid URL encoding: " + e.getMessage());
                    }
                }
            }
            return match.route().handle(new HttpRequest(method, path, match.params(), query, headers, body));
        }

        private byte[] readBody(Request request) {
            long declared = request.getLength();
            if (declared > maxBodyBytes) {
                throw new ApiException(ErrorCode.BODY_TOO_LARGE, "request body is " + declared
                        + " bytes; the limit is " + maxBodyBytes + " bytes");
            }
            try (InputStream in = Content.Source.asInputStream(request)) {
                byte[] body = in.readNBytes(maxBodyBytes + 1);
                if (body.length > maxBodyBytes) {
                    throw new ApiException(ErrorCode.BODY_TOO_LARGE, "request body exceeds the limit of "
                            + maxBodyBytes + " bytes");
                }
                return body;
            } catch (IOException e) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "could not read the request body: " + e.getMessage());
            }
        }
    }

}
