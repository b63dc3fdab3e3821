package dev.coffer.server.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.server.http.Json;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * A small HTTP client for the server's API (used by {@code coffer key}, the demo and the load
 * generator). Errors come back as {@link ApiClientException} carrying the catalogue code.
 */
public final class CofferClient {
    private final String baseUrl;
    private final String adminToken;
    private final HttpClient http;

    /** A client trusting what the JDK trusts (a server with a certificate from a public CA). */
    public CofferClient(String baseUrl, String adminToken) {
        this(baseUrl, adminToken, ServerTrust.SYSTEM);
    }

    /** @param trust how the server's HTTPS certificate is checked (its pinned fingerprint for a self-signed server) */
    public CofferClient(String baseUrl, String adminToken, ServerTrust trust) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.adminToken = adminToken;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1)
                .sslContext(trust.sslContext()).build();
    }

    public String baseUrl() {
        return baseUrl;
    }

    public JsonNode get(String path) {
        return send("GET", path, null);
    }

    public JsonNode post(String path, Object body) {
        return send("POST", path, body);
    }

    public JsonNode put(String path, Object body) {
        return send("PUT", path, body);
    }

    public JsonNode delete(String path) {
        return send("DELETE", path, null);
    }

    /** Attests in MAA's shape and returns the token. */
    public String attest(Map<String, Object> maaBody) {
        return post("/attest/SevSnpVm", maaBody).path("token").asText();
    }

    /** Releases a key: returns the JWS ({@code value}). */
    public String release(String name, String version, String token, String enc) {
        Map<String, Object> body = enc == null ? Map.of("target", token) : Map.of("target", token, "enc", enc);
        return post("/keys/" + name + (version == null ? "" : "/" + version) + "/release", body).path("value").asText();
    }

    public JsonNode send(String method, String path, Object body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30));
        if (adminToken != null) b.header("Authorization", "Bearer " + adminToken);
        if (body != null) {
            b.header("Content-Type", "application/json");
            b.method(method, HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body)));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<byte[]> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw new ApiClientException(0, "unreachable", "cannot connect to the Coffer server at " + baseUrl
                    + "; start it with 'coffer server' or pass --server URL");
        } catch (javax.net.ssl.SSLException e) {
            Throwable cause = e;
            while (cause.getCause() != null) cause = cause.getCause();
            throw new ApiClientException(0, "tls_refused", "the HTTPS connection to " + baseUrl + " was refused: "
                    + cause.getMessage() + "; trust the server with --ca FILE or --server-fingerprint SHA256 (coffer server prints it)");
        } catch (IOException e) {
            throw new ApiClientException(0, "unreachable", "request to " + baseUrl + path + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiClientException(0, "interrupted", "interrupted while waiting for " + baseUrl);
        }
        JsonNode json;
        try {
            json = r.body().length == 0 ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(r.body());
        } catch (IOException e) {
            throw new ApiClientException(r.statusCode(), "bad_response", "the server at " + baseUrl + " answered HTTP "
                    + r.statusCode() + " with a body that is not JSON");
        }
        if (r.statusCode() >= 400) {
            JsonNode err = json.path("error");
            throw new ApiClientException(r.statusCode(), err.path("code").asText("http_" + r.statusCode()),
                    err.path("message").asText("HTTP " + r.statusCode()));
        }
        return json instanceof ObjectNode ? json : Json.MAPPER.createObjectNode().set("value", json);
    }
}
