package dev.coffer.oci.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP proxy in front of the real registry that injects faults the registry itself will not
 * produce on demand: server errors, cut-off bodies, corrupted content.
 */
final class FaultProxy implements AutoCloseable {
    sealed interface Fault permits Pass, Status, Truncate, Corrupt, Stall {}

    record Pass() implements Fault {}

    /** Answer with this status and a registry-style error body instead of forwarding. */
    record Status(int code, String errorCode) implements Fault {}

    /** Forward, but send only the first {@code keep} bytes of the body and drop the connection. */
    record Truncate(int keep) implements Fault {}

    /** Forward, send the first {@code keep} bytes, then go silent for {@code millis} and drop the connection. */
    record Stall(int keep, long millis) implements Fault {}

    /** Forward with the body's bytes altered (same length). */
    record Corrupt() implements Fault {}

    /** Decides the fault for a request: its path and how many times that path was requested before (0-based). */
    interface Rule {
        Fault decide(String method, String path, int previous);
    }

    record Seen(String method, String path, String range, int status) {}

    private static final Set<String> SKIP_HEADERS = Set.of("content-length", "transfer-encoding", "connection", "date");

    private final HttpServer server;
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final URI upstream;
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    volatile Rule rule = (m, p, n) -> new Pass();

    FaultProxy(LocalRegistry registry) throws IOException {
        this.upstream = URI.create("http://" + registry.host());
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 32);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
    }

    String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    int count(String pathSuffix) {
        return (int) seen.stream().filter(s -> s.path().endsWith(pathSuffix)).count();
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        String method = ex.getRequestMethod();
        int previous = counts.computeIfAbsent(method + " " + path, k -> new AtomicInteger()).getAndIncrement();
        Fault fault = rule.decide(method, path, previous);
        String range = ex.getRequestHeaders().getFirst("Range");
        try (ex) {
            if (fault instanceof Status s) {
                byte[] body = ("{\"errors\":[{\"code\":\"" + s.errorCode() + "\",\"message\":\"injected by test\"}]}")
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(s.code(), body.length);
                ex.getResponseBody().write(body);
                seen.add(new Seen(method, path, range, s.code()));
                return;
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(upstream.resolve(ex.getRequestURI().toString()))
                    .timeout(Duration.ofSeconds(20)).method(method, HttpRequest.BodyPublishers.noBody());
            for (String h : List.of("Accept", "Authorization", "Range")) {
                String v = ex.getRequestHeaders().getFirst(h);
                if (v != null) b.header(h, v);
            }
            HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            r.headers().map().forEach((k, v) -> {
                if (!SKIP_HEADERS.contains(k.toLowerCase(java.util.Locale.ROOT))) ex.getResponseHeaders().put(k, v);
            });
            byte[] body = r.body();
            seen.add(new Seen(method, path, range, r.statusCode()));
            if (method.equals("HEAD")) {
                ex.sendResponseHeaders(r.statusCode(), -1);
                return;
            }
            if (fault instanceof Corrupt) {
                body = body.clone();
                for (int i = 0; i < body.length; i += 7) body[i] ^= 0x5a;
            }
            ex.sendResponseHeaders(r.statusCode(), body.length == 0 ? -1 : body.length);
            OutputStream out = ex.getResponseBody();
            if (fault instanceof Stall st && body.length > st.keep()) {
                out.write(body, 0, st.keep());
                out.flush();
                Thread.sleep(st.millis());
                return;
            }
            if (fault instanceof Truncate t && body.length > t.keep()) {
                out.write(body, 0, t.keep());
                out.flush();
                // Leaving the exchange with bytes missing makes the server drop the connection.
                return;
            }
            out.write(body);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException closedShort) {
            // expected for Truncate: "insufficient bytes written"
        }
    }

    @Override
    public void close() {
        server.stop(0);
        http.close();
    }
}
