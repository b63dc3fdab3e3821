package dev.coffer.server.http;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/** What a route answers: status, content type and body bytes. */
public record HttpResponse(int status, String contentType, byte[] body, Map<String, String> headers) {
    public static HttpResponse json(int status, Object value) {
        return new HttpResponse(status, "application/json", Json.bytes(value), Map.of());
    }

    public static HttpResponse ok(Object value) {
        return json(200, value);
    }

    public static HttpResponse noContent() {
        return new HttpResponse(204, null, new byte[0], Map.of());
    }

    public static HttpResponse error(ErrorCode code, String message) {
        return json(code.status(), Map.of("error", Map.of("code", code.code(), "message", message)));
    }

    public static HttpResponse text(int status, String text) {
        return new HttpResponse(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8), Map.of());
    }
}
