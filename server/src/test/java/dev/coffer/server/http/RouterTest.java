package dev.coffer.server.http;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Routes answer only once the server has added them all; before, a request is told to retry. */
class RouterTest {
    @Test
    void beforeOpenEveryRequestIsToldToRetryAfterItRoutesOrRefusesPrecisely() {
        Router r = new Router();
        Route ok = req -> HttpResponse.ok(Map.of("ok", true));
        r.add("GET", "/keys/{name}", ok);
        ApiException early = assertThrows(ApiException.class, () -> r.match("GET", "/keys/a"));
        assertEquals(ErrorCode.STARTING, early.code());
        assertEquals(503, ErrorCode.STARTING.status());
        r.open();
        assertEquals(Map.of("name", "a"), r.match("GET", "/keys/a").params());
        assertEquals(ErrorCode.METHOD_NOT_ALLOWED, assertThrows(ApiException.class, () -> r.match("DELETE", "/keys/a")).code());
        assertEquals(ErrorCode.NOT_FOUND, assertThrows(ApiException.class, () -> r.match("GET", "/nope")).code());
        assertThrows(IllegalStateException.class, () -> r.add("GET", "/late", ok));
    }
}
