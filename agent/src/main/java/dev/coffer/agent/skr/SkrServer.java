package dev.coffer.agent.skr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The SKR API the agent serves to its group's containers, in the shapes of Azure's SKR
 * sidecar:
 * <ul>
 * <li>{@code GET /status} → {@code {"message": "STATUS OK", "tee": "sim"|"snp"}}</li>
 * <li>{@code POST /attest/raw {"runtime_data": base64}} → {@code {"report": hex}}; REPORT_DATA =
 *     SHA-256(runtime data) || 32 zero bytes</li>
 * <li>{@code POST /attest/maa {"maa_endpoint", "runtime_data": base64}} → {@code {"token": JWT}}</li>
 * <li>{@code POST /key/release {"maa_endpoint", "akv_endpoint", "kid"}} → {@code {"key": "<JWK JSON>"}}
 *     (a string, as the sidecar answers)</li>
 * </ul>
 * Errors are {@code {"error": "<one line>", "code": "<stable code>"}}. Bind it to the group's
 * loopback (127.0.0.1:8080 by default): nothing outside the group's network namespace reaches it.
 */
public final class SkrServer implements AutoCloseable {
    public static final int DEFAULT_PORT = 8080;
    /** Requests are small JSON documents; runtime data is bounded well below this. */
    public static final int MAX_BODY_BYTES = 64 * 1024;
    private static final Logger LOG = Logger.getLogger(SkrServer.class.getName());

    private final HttpServer http;
    private final ExecutorService executor;
    private final SecureKeyRelease skr;

    private SkrServer(HttpServer http, ExecutorService executor, SecureKeyRelease skr) {
        this.http = http;
        this.executor = executor;
        this.skr = skr;
    }

    /** The group's default address, 127.0.0.1:8080. */
    public static InetSocketAddress defaultAddress() {
        return new InetSocketAddress("127.0.0.1", DEFAULT_PORT);
    }

    /** Starts serving on {@code address} (port 0 picks a free one). */
    public static SkrServer start(InetSocketAddress address, SecureKeyRelease skr) throws IOException {
        return serve(bind(address), skr);
    }

    /**
     * Starts serving on {@code address} inside the network namespace at {@code networkNamespace}
     * (the group's): only the listening socket is created there, so the group's containers reach
     * the API on their loopback, the host does not, and the agent's own calls to the attestation
     * service and key vault still leave from the host's network. The accepting thread and the
     * request executor are started from the caller's namespace; the only thread in the group's is
     * the server's idle-connection timer, which closes connections and opens none.
     */
    public static SkrServer start(InetSocketAddress address, SecureKeyRelease skr, java.nio.file.Path networkNamespace)
            throws IOException {
        return serve(dev.coffer.agent.netns.NetworkNamespaces.call(networkNamespace, () -> bind(address)), skr);
    }

    private static HttpServer bind(InetSocketAddress address) throws IOException {
        try {
            return HttpServer.create(address, 64);
        } catch (IOException e) {
            throw new IOException("cannot serve the SKR API on " + address.getHostString() + ":" + address.getPort() + ": " + e.getMessage()
                    + "; choose another port in the group spec or free this one", e);
        }
    }

    private static SkrServer serve(HttpServer http, SecureKeyRelease skr) {
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        SkrServer server = new SkrServer(http, executor, skr);
        http.createContext("/", server::handle);
        http.setExecutor(executor);
        http.start();
        return server;
    }

    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** {@code http://host:port} of the running API. */
    public String url() {
        InetSocketAddress a = http.getAddress();
        return "http://" + a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            int status = 200;
            Map<String, Object> answer;
            try {
                answer = route(ex);
            } catch (SkrException e) {
                status = e.status();
                // An unread body stays on the connection: make the client open a new one.
                if (status == 413) ex.getResponseHeaders().set("Connection", "close");
                answer = new LinkedHashMap<>();
                answer.put("error", e.getMessage());
                answer.put("code", e.code());
                // the key channel's refusals (a bad gateway, an insecure or unpinned endpoint) are the
                // operator's to see, not only the container's; SKR messages never carry key material
                if (status == 502 || e.code().equals("endpoint_insecure") || e.code().equals("release_key_not_pinned")) {
                    LOG.warning("SKR API " + ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " refused [" + e.code() + "]: "
                            + e.getMessage());
                }
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "SKR API " + ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " failed", e);
                status = 500;
                answer = Map.of("error", "internal error in the SKR API (" + e.getClass().getSimpleName() + "); see the agent log",
                        "code", "internal_error");
            }
            byte[] body = Upstream.JSON.writeValueAsBytes(answer);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.sendResponseHeaders(status, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private Map<String, Object> route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        String expected = switch (path) {
            case "/status" -> "GET";
            case "/attest/raw", "/attest/maa", "/key/release" -> "POST";
            default -> throw new SkrException(404, "not_found", "no SKR API at " + SecureKeyRelease.safe(path)
                    + "; paths: GET /status, POST /attest/raw, POST /attest/maa, POST /key/release");
        };
        if (!expected.equals(method)) {
            ex.getResponseHeaders().set("Allow", expected);
            throw new SkrException(405, "method_not_allowed", SecureKeyRelease.safe(path) + " takes " + expected + ", not "
                    + SecureKeyRelease.safe(method));
        }
        return switch (path) {
            case "/status" -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("message", "STATUS OK");
                m.put("tee", skr.tee());
                yield m;
            }
            case "/attest/raw" -> {
                ObjectNode body = body(ex, path);
                byte[] runtimeData = base64(required(body, "runtime_data", path), "runtime_data");
                yield Map.of("report", HexFormat.of().formatHex(skr.rawEvidence(runtimeData).report()));
            }
            case "/attest/maa" -> {
                ObjectNode body = body(ex, path);
                String maa = required(body, "maa_endpoint", path);
                byte[] runtimeData = base64(required(body, "runtime_data", path), "runtime_data");
                yield Map.of("token", skr.maaToken(maa, runtimeData));
            }
            default -> {
                ObjectNode body = body(ex, path);
                ObjectNode jwk = skr.releaseKey(required(body, "maa_endpoint", path), required(body, "akv_endpoint", path),
                        required(body, "kid", path));
                yield Map.of("key", Upstream.JSON.writeValueAsString(jwk));
            }
        };
    }

    /**
     * A body over the limit is still read, up to this much, before the refusal: a server that
     * answers and closes while the client is still sending resets the connection, and the client
     * may lose the answer. Beyond this a client is wasting our time and gets the reset.
     */
    static final long DISCARD_LIMIT = 1 << 20;

    private static void discard(InputStream in, long atMost) throws IOException {
        long left = atMost;
        byte[] sink = new byte[8192];
        for (int r; left > 0 && (r = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0; ) left -= r;
    }

    private static ObjectNode body(HttpExchange ex, String path) throws IOException {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.strip());
            } catch (NumberFormatException e) {
                throw new SkrException(400, "malformed_request", "Content-Length '" + SecureKeyRelease.safe(length) + "' is not a number");
            }
            if (n > MAX_BODY_BYTES) {
                if (n <= DISCARD_LIMIT) discard(ex.getRequestBody(), n);
                throw new SkrException(413, "body_too_large", path + ": body is " + n + " bytes; the limit is " + MAX_BODY_BYTES);
            }
        }
        byte[] bytes;
        try (InputStream in = ex.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
            if (bytes.length > MAX_BODY_BYTES) {
                discard(in, DISCARD_LIMIT);
                throw new SkrException(413, "body_too_large", path + ": body is over the limit of " + MAX_BODY_BYTES + " bytes");
            }
        }
        JsonNode n;
        try {
            n = bytes.length == 0 ? null : Upstream.JSON.readTree(bytes);
        } catch (IOException e) {
            throw new SkrException(400, "malformed_request", path + ": body is not JSON: " + e.getMessage().split("\n")[0]);
        }
        if (!(n instanceof ObjectNode o)) {
            throw new SkrException(400, "malformed_request", path + ": body must be a JSON object, found "
                    + (n == null ? "nothing" : n.getNodeType().toString().toLowerCase()));
        }
        return o;
    }

    private static String required(ObjectNode body, String field, String path) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) throw new SkrException(400, "malformed_request", path + ": '" + field + "' is required");
        if (!v.isTextual()) throw new SkrException(400, "malformed_request", path + ": '" + field + "' must be a string, found "
                + v.getNodeType().toString().toLowerCase());
        return v.textValue();
    }

    /** The sidecar takes standard base64; URL-safe and unpadded forms are accepted too. */
    private static byte[] base64(String text, String field) {
        try {
            return Base64.getUrlDecoder().decode(text.strip().replace('+', '-').replace('/', '_').replace("=", ""));
        } catch (IllegalArgumentException e) {
            throw new SkrException(400, "malformed_request", "'" + field + "' is not base64: " + e.getMessage());
        }
    }
}
