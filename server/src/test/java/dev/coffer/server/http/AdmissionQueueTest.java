package dev.coffer.server.http;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The verification queue: arrival order under saturation, a bounded wait answered with 503 and
 * Retry-After, and the Server-Timing header the load generator reads.
 */
class AdmissionQueueTest {
    private static final HttpRequest REQUEST = new HttpRequest("POST", "/attest/SevSnpVm", Map.of(), Map.of(), Map.of(), new byte[0]);

    private static void hold(CountDownLatch latch) {
        try {
            latch.await(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits (bounded) until the queue shows {@code waiting} waiters. */
    private static void awaitWaiting(AdmissionQueue queue, int waiting) throws InterruptedException {
        for (int i = 0; i < 2_000 && queue.stats().waiting() < waiting; i++) Thread.sleep(5);
        assertEquals(waiting, queue.stats().waiting(), "waiters in the queue");
    }

    @Test
    void saturatedRequestsAreServedInArrivalOrder() throws Exception {
        AdmissionQueue queue = new AdmissionQueue(new AdmissionQueue.Settings(1, 100, Duration.ofMinutes(1)));
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> served = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            int n = i;
            Route route = queue.guard(req -> {
                if (n == 0) hold(release); // the first holds the only worker
                served.add(n);
                return HttpResponse.noContent();
            });
            threads.add(Thread.ofVirtual().start(() -> route.handle(REQUEST)));
            // the next arrives only once this one is inside (running or waiting): arrival order is known
            if (i == 0) {
                for (int k = 0; k < 2_000 && queue.stats().running() < 1; k++) Thread.sleep(5);
            } else {
                awaitWaiting(queue, i);
            }
        }
        release.countDown();
        for (Thread t : threads) t.join(60_000);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), served);
        assertEquals(new AdmissionQueue.Stats(0, 0, 12, 0), queue.stats());
    }

    @Test
    void beyondTheWaitingLimitTheAnswerIsOverloadedWithRetryAfter() throws Exception {
        AdmissionQueue queue = new AdmissionQueue(new AdmissionQueue.Settings(1, 2, Duration.ofMinutes(1)));
        CountDownLatch release = new CountDownLatch(1);
        Route route = queue.guard(req -> {
            hold(release);
            return HttpResponse.noContent();
        });
        List<Thread> inside = new ArrayList<>();
        for (int i = 0; i < 3; i++) inside.add(Thread.ofVirtual().start(() -> route.handle(REQUEST)));
        awaitWaiting(queue, 2);
        ApiException refused = assertThrows(ApiException.class, () -> route.handle(REQUEST));
        assertEquals(ErrorCode.OVERLOADED, refused.code());
        assertEquals(503, refused.code().status());
        assertTrue(Long.parseLong(refused.headers().get("Retry-After")) >= 1, refused.headers().toString());
        assertTrue(refused.getMessage().contains("2 requests are already waiting"), refused.getMessage());
        release.countDown();
        for (Thread t : inside) t.join(60_000);
        assertEquals(new AdmissionQueue.Stats(0, 0, 3, 1), queue.stats());
    }

    @Test
    void aRequestNotAdmittedWithinTheWaitLimitIsRefused() throws Exception {
        AdmissionQueue queue = new AdmissionQueue(new AdmissionQueue.Settings(1, 10, Duration.ofMillis(50)));
        CountDownLatch release = new CountDownLatch(1);
        Route route = queue.guard(req -> {
            hold(release);
            return HttpResponse.noContent();
        });
        Thread holder = Thread.ofVirtual().start(() -> route.handle(REQUEST));
        for (int k = 0; k < 2_000 && queue.stats().running() < 1; k++) Thread.sleep(5);
        ApiException refused = assertThrows(ApiException.class, () -> route.handle(REQUEST));
        assertEquals(ErrorCode.OVERLOADED, refused.code());
        assertTrue(refused.getMessage().contains("within 50 ms"), refused.getMessage());
        release.countDown();
        holder.join(60_000);
        assertEquals(0, queue.stats().waiting());
    }

    @Test
    void answersCarryTheirQueueAndHandlingTimesAndErrorsTheirHeadersOverHttp() throws Exception {
        AdmissionQueue queue = new AdmissionQueue(new AdmissionQueue.Settings(2, 0, Duration.ofSeconds(1)));
        Router router = new Router();
        router.add("POST", "/work", queue.guard(req -> HttpResponse.ok(Map.of("done", true))));
        router.add("POST", "/busy", req -> {
            throw new ApiException(ErrorCode.OVERLOADED, "busy", Map.of("Retry-After", "7"));
        });
        router.open();
        try (HttpApiServer server = new HttpApiServer("127.0.0.1", 0, 1 << 16, router, null)) {
            server.start();
            HttpClient client = HttpClient.newHttpClient();
            var ok = client.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/work"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ok.statusCode());
            String timing = ok.headers().firstValue("Server-Timing").orElseThrow();
            // the server's wait for a handler thread, then the queue's own times
            assertTrue(timing.matches("recv;dur=\\d+\\.\\d{3}, queue;dur=\\d+\\.\\d{3}, handle;dur=\\d+\\.\\d{3}"), timing);

            var busy = client.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/busy"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(503, busy.statusCode());
            assertEquals("7", busy.headers().firstValue("Retry-After").orElseThrow());
            assertTrue(busy.body().contains("\"overloaded\""), busy.body());
        }
    }

    @Test
    void settingsRefuseNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new AdmissionQueue.Settings(0, 1, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new AdmissionQueue.Settings(1, -1, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new AdmissionQueue.Settings(1, 1, Duration.ZERO));
    }
}
