package dev.coffer.agent.skr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * HTTP calls from the group to the attestation service and the key vault: JSON in, JSON out,
 * bounded answers, and their refusals turned into {@link SkrException}s that keep the
 * service's stable error code.
 */
final class Upstream {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Tokens and release JWSs are a few KiB; anything near this is not an answer we asked for. */
    private static final int MAX_RESPONSE = 1024 * 1024;

    private final Duration timeout;
    private final KeyChannelTrust trust;
    /**
     * Built at the first call, not with the agent: a client initialises the JDK's default TLS
     * context (its provider, the trust store's ~140 certificates), which took 12 s of a microVM
     * agent's start under emulation, for a call that may come much later or never.
     */
    private volatile HttpClient http;

    Upstream(Duration timeout, KeyChannelTrust trust) {
        this.timeout = timeout;
        this.trust = trust;
    }

    private HttpClient http() {
        HttpClient client = http;
        if (client == null) {
            synchronized (this) {
                client = http;
                if (client == null) {
                    client = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1)
                            .sslContext(PinnedTrust.sslContext(trust))
                            .followRedirects(HttpClient.Redirect.NEVER).build();
                    http = client;
                }
            }
        }
        return client;
    }

    /**
     * The base URL of an endpoint as the SKR sidecar takes it: a bare host (Azure's
     * {@code myvault.vault.azure.net}, meaning https) or a full http(s) URL.
     */
    static String baseUrl(String endpoint, String field) {
        if (endpoint == null || endpoint.isBlank()) {
            throw new SkrException(400, "malformed_request", "'" + field + "' is required: the host or URL of the service, e.g. https://127.0.0.1:8400");
        }
        String e = endpoint.strip();
        if (!e.contains("://")) e = "https://" + e;
        URI uri;
        try {
            uri = new URI(e);
        } catch (URISyntaxException ex) {
            throw new SkrException(400, "endpoint_invalid", "'" + field + "' is not a URL: " + ex.getReason());
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
            throw new SkrException(400, "endpoint_invalid", "'" + field + "' must be an http or https URL, found scheme '" + uri.getScheme() + "'");
        }
        if (uri.getHost() == null || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new SkrException(400, "endpoint_invalid", "'" + field + "' must be scheme://host[:port][/path] without user, query or fragment");
        }
        return e.endsWith("/") ? e.substring(0, e.length() - 1) : e;
    }

    /** {@code scheme://host:port} of a base URL from {@link #baseUrl}, port made explicit, host lower-cased. */
    static String origin(String base) {
        URI uri = URI.create(base);
        int port = uri.getPort() > 0 ? uri.getPort() : uri.getScheme().equals("https") ? 443 : 80;
        return uri.getScheme() + "://" + uri.getHost().toLowerCase(java.util.Locale.ROOT) + ":" + port;
    }

    JsonNode get(String url, String what) {
        return send(HttpRequest.newBuilder(URI.create(url)).GET(), url, what);
    }

    JsonNode post(String url, Object body, String what) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode the " + what + " request", e);
        }
        return send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)), url, what);
    }

    private JsonNode send(HttpRequest.Builder b, String url, String what) {
        HttpResponse<InputStream> r;
        byte[] body;
        try {
            r = http().send(b.timeout(timeout).header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                body = in.readNBytes(MAX_RESPONSE + 1);
            }
        } catch (HttpTimeoutException e) {
            throw new SkrException(502, "upstream_unreachable", what + ": " + url + " did not answer within " + timeout.toSeconds() + " s");
        } catch (javax.net.ssl.SSLException e) {
            throw new SkrException(502, "upstream_tls_refused", what + ": the TLS connection to " + url + " was refused ("
                    + PinnedTrust.reason(e) + "); expected the certificate the spec pins for it, or one the JDK trusts");
        } catch (IOException e) {
            throw new SkrException(502, "upstream_unreachable", what + ": cannot reach " + url + " (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); check the endpoint and that the service runs");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SkrException(503, "interrupted", what + ": interrupted while waiting for " + url);
        }
        if (body.length > MAX_RESPONSE) {
            throw new SkrException(502, "upstream_bad_response", what + ": " + url + " answered with more than " + MAX_RESPONSE + " bytes");
        }
        JsonNode json;
        try {
            json = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
        } catch (IOException e) {
            throw new SkrException(502, "upstream_bad_response", what + ": " + url + " answered HTTP " + r.statusCode() + " with a body that is not JSON");
        }
        if (r.statusCode() >= 400) {
            // Both Coffer and Azure answer {"error": {"code", "message"}}; the sidecar's own shape is {"error": "..."}.
            JsonNode err = json.path("error");
            String code = err.isObject() ? err.path("code").asText("") : "";
            String message = err.isObject() ? err.path("message").asText("") : err.asText("");
            if (code.isEmpty()) code = "upstream_http_" + r.statusCode();
            int status = r.statusCode() >= 500 ? 502 : 403;
            throw new SkrException(status, code, what + " refused by " + url + " (HTTP " + r.statusCode() + ", " + code + "): "
                    + (message.isEmpty() ? "no message" : oneLine(message)));
        }
        if (r.statusCode() != 200 && r.statusCode() != 201) {
            throw new SkrException(502, "upstream_bad_response", what + ": " + url + " answered HTTP " + r.statusCode() + ", expected 200");
        }
        return json;
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("[\\r\\n]+", " ");
        return t.length() > 2000 ? t.substring(0, 2000) + "..." : t;
    }
}
