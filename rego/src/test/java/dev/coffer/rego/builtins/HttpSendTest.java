package dev.coffer.rego.builtins;

import com.sun.net.httpserver.HttpServer;
import dev.coffer.rego.CompiledPolicy;
import dev.coffer.rego.EvalOptions;
import dev.coffer.rego.Rego;
import dev.coffer.rego.RegoException;
import dev.coffer.rego.RegoModule;
import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.Value;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * http.send against a server this test starts on 127.0.0.1: off by default (the request is still
 * checked), OPA's response shape when an embedder enables it, and its errors.
 */
class HttpSendTest {
    private HttpServer server;
    private String url;
    private final AtomicReference<String> lastBody = new AtomicReference<>();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/roles", ex -> {
            lastBody.set(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] out = "{\"roles\":[\"admin\"]}".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.getResponseHeaders().add("X-Served-By", "test");
            ex.sendResponseHeaders(200, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        server.createContext("/missing", ex -> {
            ex.sendResponseHeaders(404, -1);
            ex.close();
        });
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static final String POLICY = """
            package t
            resp := http.send(input.req)
            admin if "admin" in resp.body.roles
            """;

    private Value eval(Rego.Options opts, String ref, String reqJson) {
        CompiledPolicy p = Rego.compile(List.of(new RegoModule("t.rego", POLICY)), opts);
        return p.evalRef(ref, Json.parse("{\"req\":" + reqJson + "}"), null, EvalOptions.DEFAULT.withStrictBuiltinErrors(true)).value();
    }

    private static Rego.Options networked() {
        return new Rego.Options(Rego.Syntax.V1, Map.of("http.send", HttpSend.networked(Duration.ofSeconds(5))));
    }

    @Test
    void sendsAndDecodesJsonWhenEnabled() {
        Value resp = eval(networked(), "data.t.resp", "{\"method\":\"post\",\"url\":\"" + url + "/roles\",\"body\":{\"name\":\"alice\"}}");
        Map<?, ?> r = (Map<?, ?>) resp.toJava();
        assertEquals(200, ((Number) r.get("status_code")).intValue());
        assertEquals("200 OK", r.get("status"));
        assertEquals(Map.of("roles", List.of("admin")), r.get("body"));
        assertEquals("{\"roles\":[\"admin\"]}", r.get("raw_body"));
        assertEquals(List.of("test"), ((Map<?, ?>) r.get("headers")).get("x-served-by"));
        assertEquals("{\"name\":\"alice\"}", lastBody.get(), "the body is sent as JSON");
        assertEquals(Value.of(true), eval(networked(), "data.t.admin", "{\"method\":\"post\",\"url\":\"" + url + "/roles\"}"));
    }

    @Test
    void statusCodesAreDataNotErrors() {
        Map<?, ?> r = (Map<?, ?>) eval(networked(), "data.t.resp", "{\"method\":\"get\",\"url\":\"" + url + "/missing\"}").toJava();
        assertEquals(404, ((Number) r.get("status_code")).intValue());
        assertEquals(null, r.get("body"));
    }

    @Test
    void unreachableServerIsAnErrorOrAnAnswerWithRaiseErrorFalse() throws Exception {
        server.stop(0);
        RegoException e = assertThrows(RegoException.class,
                () -> eval(networked(), "data.t.resp", "{\"method\":\"get\",\"url\":\"" + url + "/roles\"}"));
        assertEquals("eval_builtin_error", e.code());
        Map<?, ?> r = (Map<?, ?>) eval(networked(), "data.t.resp", "{\"method\":\"get\",\"url\":\"" + url + "/roles\",\"raise_error\":false}").toJava();
        assertEquals(0, ((Number) r.get("status_code")).intValue());
        assertTrue(((Map<?, ?>) r.get("error")).containsKey("message"));
    }

    @Test
    void offByDefaultButTheRequestIsStillChecked() {
        RegoException e = assertThrows(RegoException.class,
                () -> eval(Rego.Options.DEFAULT, "data.t.resp", "{\"method\":\"get\",\"url\":\"" + url + "/roles\"}"));
        assertTrue(e.getMessage().contains("network access from policies is disabled"), e.getMessage());
        assertEquals(null, lastBody.get(), "nothing reached the server");
        e = assertThrows(RegoException.class, () -> eval(Rego.Options.DEFAULT, "data.t.resp", "{\"method\":\"get\",\"uri\":\"x\"}"));
        assertEquals("eval_type_error", e.code());
        assertTrue(e.getMessage().contains("invalid request parameters(s): {\"uri\"}"), e.getMessage());
        e = assertThrows(RegoException.class, () -> eval(networked(), "data.t.resp", "{\"url\":\"" + url + "\"}"));
        assertTrue(e.getMessage().contains("missing required request parameters(s): {\"method\"}"), e.getMessage());
    }

    @Test
    void refusesWhatItWouldIgnore() {
        RegoException e = assertThrows(RegoException.class, () -> eval(networked(), "data.t.resp",
                "{\"method\":\"get\",\"url\":\"" + url + "\",\"tls_insecure_skip_verify\":true}"));
        assertTrue(e.getMessage().contains("tls_insecure_skip_verify is not supported"), e.getMessage());
        e = assertThrows(RegoException.class, () -> eval(networked(), "data.t.resp", "{\"method\":\"get\",\"url\":\"file:///etc/passwd\"}"));
        assertTrue(e.getMessage().contains("url must be http:// or https://"), e.getMessage());
    }
}
