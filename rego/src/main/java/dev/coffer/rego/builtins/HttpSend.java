package dev.coffer.rego.builtins;

import dev.coffer.rego.value.Json;
import dev.coffer.rego.value.NumberValue;
import dev.coffer.rego.value.ObjectValue;
import dev.coffer.rego.value.StringValue;
import dev.coffer.rego.value.Value;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * OPA's http.send. The request object is checked as OPA checks it (unknown and missing keys are
 * type errors) whether or not the network is enabled; the built-in registered by default then
 * refuses to send, because a policy that reaches the network can leak what it evaluates and
 * answers differently from one run to the next. An embedder that wants OPA's behaviour passes
 * {@link #networked(Duration)} as an extra built-in. TLS client options are refused rather
 * than ignored; caching options are accepted and have no effect (every call is sent).
 */
public final class HttpSend {
    static final String NAME = "http.send";
    /** Every key OPA accepts in the request object. */
    static final Set<String> KEYS = Set.of("method", "url", "body", "enable_redirect", "force_json_decode", "force_yaml_decode",
            "headers", "raw_body", "tls_use_system_certs", "tls_ca_cert", "tls_ca_cert_file", "tls_ca_cert_env_variable",
            "tls_client_cert", "tls_client_cert_file", "tls_client_cert_env_variable", "tls_client_key", "tls_client_key_file",
            "tls_client_key_env_variable", "tls_insecure_skip_verify", "tls_server_name", "timeout", "cache", "force_cache",
            "force_cache_duration_seconds", "raise_error", "caching_mode", "max_retry_attempts", "cache_ignored_headers");
    static final Set<String> REQUIRED = Set.of("method", "url");
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    private HttpSend() {
    }

    static void register(Builtins.Registry r) {
        r.addNondeterministic(NAME, 1, (c, a) -> {
            check(a[0]);
            throw BuiltinException.builtin(NAME, "network access from policies is disabled in this engine; an embedder that needs it"
                    + " registers HttpSend.networked(timeout) as an extra built-in (Rego.Options.extraBuiltins)");
        });
    }

    /** http.send that sends: plain HTTP or HTTPS with the JVM's trust store, at most {@code maxTimeout} per request. */
    public static Builtin networked(Duration maxTimeout) {
        HttpClient follow = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(maxTimeout).build();
        HttpClient noFollow = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).connectTimeout(maxTimeout).build();
        return new Builtin(NAME, 1, (c, a) -> send(check(a[0]), follow, noFollow, maxTimeout), true);
    }

    /** The request object, after OPA's key checks. */
    static ObjectValue check(Value v) {
        if (!(v instanceof ObjectValue o)) throw Args.typeErr(NAME, 0, "object", v);
        TreeSet<String> bad = new TreeSet<>();
        TreeSet<String> keys = new TreeSet<>();
        for (Value k : o.map().keySet()) {
            String key = k instanceof StringValue s ? s.value() : Json.write(k);
            keys.add(key);
            if (!KEYS.contains(key)) bad.add(key);
        }
        if (!bad.isEmpty()) throw new BuiltinException(BuiltinException.TYPE, "invalid request parameters(s): " + goSet(bad));
        TreeSet<String> missing = new TreeSet<>(REQUIRED);
        missing.removeAll(keys);
        if (!missing.isEmpty()) throw new BuiltinException(BuiltinException.TYPE, "missing required request parameters(s): " + goSet(missing));
        for (String k : keys) {
            if (k.startsWith("tls_") && !k.equals("tls_use_system_certs")) {
                throw BuiltinException.builtin(NAME, "parameter " + k + " is not supported; HTTPS uses the JVM's trust store");
            }
        }
        return o;
    }

    /** OPA prints the key set as {"a", "b"}. */
    private static String goSet(TreeSet<String> keys) {
        List<String> q = new ArrayList<>();
        for (String k : keys) q.add(Json.write(Value.of(k)));
        return "{" + String.join(", ", q) + "}";
    }

    private static Value field(ObjectValue o, String key) {
        return o.map().get(Value.of(key));
    }

    private static String text(ObjectValue o, String key) {
        Value v = field(o, key);
        if (v == null) return null;
        if (v instanceof StringValue s) return s.value();
        throw BuiltinException.type(NAME, "request parameter " + key + " must be a string, found " + Json.write(v));
    }

    private static boolean flag(ObjectValue o, String key, boolean dflt) {
        Value v = field(o, key);
        if (v == null) return dflt;
        if (v instanceof dev.coffer.rego.value.BooleanValue b) return b.value();
        throw BuiltinException.type(NAME, "request parameter " + key + " must be a boolean, found " + Json.write(v));
    }

    private static Value send(ObjectValue req, HttpClient follow, HttpClient noFollow, Duration maxTimeout) {
        String method = text(req, "method").toUpperCase(Locale.ROOT);
        String url = text(req, "url");
        Duration timeout = maxTimeout;
        Value t = field(req, "timeout");
        if (t instanceof StringValue s) timeout = Duration.ofNanos(Times.duration(s.value()).longValue());
        else if (t instanceof NumberValue n) timeout = Duration.ofNanos(n.value().longValue());
        if (timeout.compareTo(maxTimeout) > 0 || timeout.isNegative() || timeout.isZero()) timeout = maxTimeout;
        boolean raise = flag(req, "raise_error", true);
        try {
            URI uri = URI.create(url);
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
                throw BuiltinException.builtin(NAME, "url must be http:// or https://, found " + url);
            }
            String raw = text(req, "raw_body");
            Value body = field(req, "body");
            HttpRequest.BodyPublisher pub = raw != null ? HttpRequest.BodyPublishers.ofString(raw)
                    : body != null ? HttpRequest.BodyPublishers.ofString(Json.write(body)) : HttpRequest.BodyPublishers.noBody();
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).method(method, pub);
            if (field(req, "headers") instanceof ObjectValue h) {
                for (Map.Entry<Value, Value> e : h.map().entrySet()) {
                    if (e.getKey() instanceof StringValue k && e.getValue() instanceof StringValue v) b.header(k.value(), v.value());
                    else throw BuiltinException.type(NAME, "headers must map strings to strings");
                }
            }
            if (body != null && raw == null && (!(field(req, "headers") instanceof ObjectValue h2) || h2.map().keySet().stream()
                    .noneMatch(k -> k instanceof StringValue s && s.value().equalsIgnoreCase("content-type")))) {
                b.header("Content-Type", "application/json");
            }
            HttpClient client = flag(req, "enable_redirect", false) ? follow : noFollow;
            HttpResponse<byte[]> resp = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return response(req, resp);
        } catch (IOException | IllegalArgumentException e) {
            if (raise) throw BuiltinException.builtin(NAME, e.getClass().getSimpleName() + ": " + e.getMessage());
            return Value.object(Map.of(Value.of("status_code"), NumberValue.of(0), Value.of("error"),
                    Value.object(Map.of(Value.of("message"), Value.of(String.valueOf(e.getMessage()))))));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw BuiltinException.builtin(NAME, "interrupted");
        }
    }

    private static Value response(ObjectValue req, HttpResponse<byte[]> resp) {
        String raw = new String(resp.body(), StandardCharsets.UTF_8);
        TreeMap<Value, Value> headers = new TreeMap<>(Value.ORDER);
        for (Map.Entry<String, List<String>> e : resp.headers().map().entrySet()) {
            List<Value> vs = new ArrayList<>();
            for (String s : e.getValue()) vs.add(Value.of(s));
            headers.put(Value.of(e.getKey().toLowerCase(Locale.ROOT)), Value.array(vs));
        }
        String type = resp.headers().firstValue("content-type").orElse("");
        Value body = Value.nullValue();
        if (type.startsWith("application/json") || flag(req, "force_json_decode", false)) {
            try {
                body = Json.parse(raw);
            } catch (RuntimeException e) {
                body = Value.nullValue();
            }
        }
        TreeMap<Value, Value> out = new TreeMap<>(Value.ORDER);
        out.put(Value.of("status"), Value.of(resp.statusCode() + " " + reason(resp.statusCode())));
        out.put(Value.of("status_code"), NumberValue.of(resp.statusCode()));
        out.put(Value.of("body"), body);
        out.put(Value.of("raw_body"), Value.of(raw));
        out.put(Value.of("headers"), ObjectValue.wrap(headers));
        return ObjectValue.wrap(out);
    }

    /** Go's http.StatusText for the common codes (OPA's "status" is "200 OK"). */
    private static String reason(int code) {
        return switch (code) {
            case 200 -> "OK";
            case 201 -> "Created";
            case 204 -> "No Content";
            case 301 -> "Moved Permanently";
            case 302 -> "Found";
            case 304 -> "Not Modified";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            default -> "";
        };
    }
}
