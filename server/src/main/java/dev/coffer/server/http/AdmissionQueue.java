package dev.coffer.server.http;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fair gate in front of CPU-heavy handlers (evidence verification and token signing).
 *
 * <p>Why: each request runs on a virtual thread, and virtual threads are not preempted. Under
 * saturation dozens of verifications shared two cores in no particular order, so while the median
 * answer took half a millisecond a few waited seconds. Here at most {@code workers} run at once
 * and the rest wait in arrival order (a fair semaphore), so a request's wait is bounded by the
 * work ahead of it. Beyond {@code maxWaiting} waiters, or after {@code maxWait}, the answer is
 * 503 {@code overloaded} with a {@code Retry-After} the client can honour, instead of a wait that
 * grows without bound. Each answer carries {@code Server-Timing: queue;dur=.., handle;dur=..}
 * (milliseconds), which the load generator reports apart from the end-to-end latency.
 */
public final class AdmissionQueue {
    /**
     * @param workers    handlers running at once: one per core keeps every core busy without
     *                   letting later arrivals overtake earlier ones
     * @param maxWaiting requests allowed to wait; more are refused at once
     * @param maxWait    longest wait before a request is refused
     */
    public record Settings(int workers, int maxWaiting, Duration maxWait) {
        public Settings {
            if (workers < 1) throw new IllegalArgumentException("expected at least 1 worker, found " + workers);
            if (maxWaiting < 0) throw new IllegalArgumentException("expected a waiting limit >= 0, found " + maxWaiting);
            if (maxWait.isNegative() || maxWait.isZero()) throw new IllegalArgumentException("expected a positive wait limit, found " + maxWait);
        }

        /** One worker per core, 1,024 waiting, 5 s at most. */
        public static Settings defaults() {
            return new Settings(Integer.getInteger("coffer.queue.workers", Runtime.getRuntime().availableProcessors()), 1024, Duration.ofSeconds(5));
        }
    }

    /** What the queue has done since the server started; for metrics and the bench. */
    public record Stats(int waiting, int running, long admitted, long refused) {}

    private final Settings settings;
    private final Semaphore permits;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicLong admitted = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    /** Moving average of a handler's time, for Retry-After. */
    private final AtomicLong averageHandleNanos = new AtomicLong(1_000_000);

    public AdmissionQueue(Settings settings) {
        this.settings = settings;
        this.permits = new Semaphore(settings.workers(), true);
    }

    /** {@code route} behind this queue. */
    public Route guard(Route route) {
        return request -> {
            long arrived = System.nanoTime();
            if (!admit()) throw overloaded("none was admitted within " + settings.maxWait().toMillis() + " ms");
            admitted.incrementAndGet();
            long started = System.nanoTime();
            try {
                HttpResponse response = route.handle(request);
                return withTiming(response, started - arrived, System.nanoTime() - started);
            } finally {
                long took = System.nanoTime() - started;
                averageHandleNanos.updateAndGet(avg -> avg + (took - avg) / 16);
                permits.release();
            }
        };
    }

    /**
     * A free worker at once if no one waits (a timed try honours the fair order; the untimed one
     * would overtake the waiters), else a place in the line, if there is room, for up to maxWait.
     */
    private boolean admit() {
        try {
            if (permits.tryAcquire(0, TimeUnit.NANOSECONDS)) return true;
            if (waiting.incrementAndGet() > settings.maxWaiting()) {
                waiting.decrementAndGet();
                throw overloaded(settings.maxWaiting() + " requests are already waiting");
            }
            try {
                return permits.tryAcquire(settings.maxWait().toNanos(), TimeUnit.NANOSECONDS);
            } finally {
                waiting.decrementAndGet();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public Stats stats() {
        return new Stats(waiting.get(), settings.workers() - permits.availablePermits(), admitted.get(), refused.get());
    }

    private ApiException overloaded(String why) {
        refused.incrementAndGet();
        // the time the work queued now would take, rounded up to whole seconds (HTTP's unit)
        long backlog = (long) waiting.get() * averageHandleNanos.get() / settings.workers();
        long retryAfter = Math.max(1, (backlog + 999_999_999L) / 1_000_000_000L);
        return new ApiException(ErrorCode.OVERLOADED, "the server is saturated (" + why + "); retry after " + retryAfter + " s",
                Map.of("Retry-After", Long.toString(retryAfter)));
    }

    private static HttpResponse withTiming(HttpResponse response, long queuedNanos, long handledNanos) {
        Map<String, String> headers = new LinkedHashMap<>(response.headers());
        headers.put("Server-Timing", String.format(Locale.ROOT, "queue;dur=%.3f, handle;dur=%.3f", queuedNanos / 1e6, handledNanos / 1e6));
        return new HttpResponse(response.status(), response.contentType(), response.body(), Map.copyOf(headers));
    }
}
