package dev.coffer.server.http;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fair gate in front of CPU-heavy handlers (evidence verification and token signing).
 *
 * <p>Why: each request runs on a virtual thread, and virtual threads are not preempted. Under
 * saturation dozens of verifications shared two cores in no particular order, so while the median
 * answer took half a millisecond a few waited seconds. Here the guarded handlers run on
 * {@code workers} platform threads of their own and the rest wait in arrival order (a FIFO
 * queue), so a request's wait is bounded by the work ahead of it. Beyond {@code maxWaiting}
 * waiters, or after {@code maxWait}, the answer is 503 {@code overloaded} with a {@code
 * Retry-After} the client can honour, instead of a wait that grows without bound. Each answer
 * carries {@code Server-Timing: queue;dur=.., handle;dur=..} (milliseconds), which the load
 * generator reports apart from the end-to-end latency.
 *
 * <p>Why platform threads: when the verifications ran on the virtual-thread carriers themselves
 * (a semaphore of one permit per core), they held every carrier, and everything else the server
 * does on virtual threads (TLS handshakes, reading and parsing requests, writing answers) waited
 * behind them: under load a new connection's handshake took seconds while the queue itself
 * said a few milliseconds. Platform threads are preempted by the OS, so the carriers keep
 * their share of the cores for I/O whatever the verifications do.
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

    private static final java.util.concurrent.atomic.AtomicInteger QUEUES = new java.util.concurrent.atomic.AtomicInteger();

    private final Settings settings;
    private final ThreadPoolExecutor workers;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicLong admitted = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    /** Moving average of a handler's time, for Retry-After. */
    private final AtomicLong averageHandleNanos = new AtomicLong(1_000_000);

    public AdmissionQueue(Settings settings) {
        this.settings = settings;
        String name = "coffer-verify-" + QUEUES.incrementAndGet() + "-";
        AtomicInteger threads = new AtomicInteger();
        // Exactly `workers` threads and a bounded FIFO line; idle threads end after a while, so a
        // queue that is no longer used (a stopped server in a test JVM) leaves no threads behind.
        workers = new ThreadPoolExecutor(settings.workers(), settings.workers(), 30, TimeUnit.SECONDS,
                settings.maxWaiting() == 0 ? new SynchronousQueue<>() : new LinkedBlockingQueue<>(settings.maxWaiting()),
                r -> Thread.ofPlatform().name(name + threads.incrementAndGet()).daemon().unstarted(r));
        workers.allowCoreThreadTimeOut(true);
    }

    /** {@code route} behind this queue. */
    public Route guard(Route route) {
        return request -> {
            Admission a = new Admission(route, request, System.nanoTime());
            try {
                workers.execute(a);
            } catch (RejectedExecutionException e) {
                throw overloaded(settings.maxWaiting() + " requests are already waiting");
            }
            try {
                HttpResponse response;
                try {
                    response = a.answer.get(settings.maxWait().toNanos(), TimeUnit.NANOSECONDS);
                } catch (TimeoutException late) {
                    if (a.abandon()) {
                        workers.remove(a);
                        throw overloaded("none was admitted within " + settings.maxWait().toMillis() + " ms");
                    }
                    response = a.answer.get(); // admitted just in time: the handler runs, its answer counts
                }
                return response;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (a.abandon()) workers.remove(a);
                throw overloaded("the request was interrupted while it waited");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                if (e.getCause() instanceof Error err) throw err;
                throw new IllegalStateException(e.getCause());
            }
        };
    }

    /** One request in the line: run by a worker unless its caller gave up waiting first. */
    private final class Admission implements Runnable {
        private static final int WAITING = 0, ADMITTED = 1, ABANDONED = 2;
        private final Route route;
        private final HttpRequest request;
        private final long arrived;
        private final AtomicInteger state = new AtomicInteger(WAITING);
        final CompletableFuture<HttpResponse> answer = new CompletableFuture<>();

        Admission(Route route, HttpRequest request, long arrived) {
            this.route = route;
            this.request = request;
            this.arrived = arrived;
        }

        /** True when the request had not started, and now never will. */
        boolean abandon() {
            return state.compareAndSet(WAITING, ABANDONED);
        }

        @Override
        public void run() {
            if (!state.compareAndSet(WAITING, ADMITTED)) return;
            admitted.incrementAndGet();
            running.incrementAndGet();
            long started = System.nanoTime();
            HttpResponse response = null;
            Throwable failure = null;
            try {
                response = route.handle(request);
            } catch (Throwable t) {
                failure = t;
            }
            long took = System.nanoTime() - started;
            averageHandleNanos.updateAndGet(avg -> avg + (took - avg) / 16);
            // counted out before the caller learns the answer, so the stats it reads next are settled
            running.decrementAndGet();
            if (failure != null) answer.completeExceptionally(failure);
            else answer.complete(withTiming(response, started - arrived, took));
        }
    }

    public Stats stats() {
        return new Stats(workers.getQueue().size(), running.get(), admitted.get(), refused.get());
    }

    private ApiException overloaded(String why) {
        refused.incrementAndGet();
        // the time the work queued now would take, rounded up to whole seconds (HTTP's unit)
        long backlog = (long) workers.getQueue().size() * averageHandleNanos.get() / settings.workers();
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
