package dev.coffer.server.store;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.logging.Logger;

/**
 * Asks the database every {@link #INTERVAL} whether it answers, on a thread of its own, so a
 * readiness probe is answered at once from the last result instead of waiting out a
 * connection timeout, and an outage and its end are logged once each.
 */
public final class StoreProbe implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StoreProbe.class.getName());
    public static final Duration INTERVAL = Duration.ofSeconds(1);

    /** The last answer: {@code problem} is null when the database answered. */
    public record Status(boolean up, Instant checked, String problem) {}

    private final VaultStore store;
    private final Clock clock;
    private final Thread thread;
    private volatile Status status;
    private volatile boolean closed;

    public StoreProbe(VaultStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
        this.status = check();
        this.thread = Thread.ofPlatform().daemon().name("coffer-store-probe").start(this::loop);
    }

    public Status status() {
        return status;
    }

    private Status check() {
        try {
            store.ping();
            return new Status(true, clock.instant(), null);
        } catch (StoreException e) {
            return new Status(false, clock.instant(), e.getMessage());
        }
    }

    private void loop() {
        while (!closed) {
            try {
                Thread.sleep(INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            Status next = check();
            if (status.up() && !next.up()) LOG.warning("the database stopped answering: " + next.problem());
            if (!status.up() && next.up()) LOG.info("the database answers again");
            status = next;
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
