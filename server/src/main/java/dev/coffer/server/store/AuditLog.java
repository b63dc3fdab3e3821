package dev.coffer.server.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Durable audit appends with group commit. A release must not be answered before its audit
 * entry is on disk, but one fsync per release caps throughput at the disk's sync rate. So
 * callers enqueue and wait; one writer thread commits everything queued meanwhile in a single
 * transaction (one fsync) and then releases all of its waiters.
 */
public final class AuditLog implements AutoCloseable {
    private static final int MAX_BATCH = 1024;

    private record Pending(AuditEntry entry, CompletableFuture<Void> done) {}

    private final VaultStore store;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean closed;
    /** Committed entries by verdict and code (for /metrics); counted only once they are durable. */
    private final java.util.concurrent.ConcurrentHashMap<Outcome, java.util.concurrent.atomic.LongAdder> committed =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** A release decision's verdict ({@code released}, {@code denied}) and error code ("" for a release). */
    public record Outcome(String verdict, String code) {}

    public AuditLog(VaultStore store) {
        this.store = store;
        this.writer = Thread.ofPlatform().daemon().name("coffer-audit-writer").start(this::writeLoop);
    }

    /** Appends and returns once the entry is committed; a store failure is rethrown here. */
    public void append(AuditEntry entry) {
        if (closed) throw new StoreException("the audit log is closed", null);
        CompletableFuture<Void> done = new CompletableFuture<>();
        queue.add(new Pending(entry, done));
        try {
            done.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw e;
        }
    }

    /** Entries waiting for the writer (the group-commit queue). */
    public int queueDepth() {
        return queue.size();
    }

    /** Entries this process committed since it started, by outcome. */
    public java.util.Map<Outcome, Long> committedOutcomes() {
        java.util.Map<Outcome, Long> m = new java.util.HashMap<>();
        committed.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        while (!closed || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) continue;
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                List<AuditEntry> entries = new ArrayList<>(batch.size());
                for (Pending p : batch) entries.add(p.entry);
                try {
                    store.appendAudit(entries);
                    for (AuditEntry e : entries) {
                        committed.computeIfAbsent(new Outcome(e.verdict(), e.code() == null ? "" : e.code()),
                                k -> new java.util.concurrent.atomic.LongAdder()).increment();
                    }
                    for (Pending p : batch) p.done.complete(null);
                } catch (RuntimeException e) {
                    for (Pending p : batch) p.done.completeExceptionally(e);
                }
                batch.clear();
            } catch (InterruptedException e) {
                break;
            }
        }
        for (Pending p : queue) p.done.completeExceptionally(new StoreException("the audit log closed before this entry was written", null));
    }

    @Override
    public void close() {
        closed = true;
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
