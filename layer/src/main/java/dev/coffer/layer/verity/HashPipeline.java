package dev.coffer.layer.verity;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Hashes 1 MiB chunks of the image on worker threads while the producer parses the next
 * chunk. Chunks are independent (each knows its first block), so workers need no ordering:
 * level-0 hashes and image bytes go to their positions with positional writes. Buffers are
 * recycled through a small pool, which bounds memory to a few MiB whatever the layer size.
 */
final class HashPipeline {
    private record Task(long startBlock, byte[] data, int blocks) {}

    private static final Task STOP = new Task(-1, null, 0);
    private static final byte[] SALT = new byte[32];

    private final FileChannel level0;
    private final FileChannel image;
    private final BlockingQueue<Task> tasks;
    private final BlockingQueue<byte[]> free;
    private final Thread[] workers;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Object lock = new Object();
    private int pending;

    HashPipeline(FileChannel level0, FileChannel image) {
        this.level0 = level0;
        this.image = image;
        int n = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        this.tasks = new ArrayBlockingQueue<>(n + 1);
        this.free = new ArrayBlockingQueue<>(2 * n + 4); // every buffer that can be in flight
        this.workers = new Thread[n];
        for (int i = 0; i < n; i++) {
            workers[i] = Thread.ofPlatform().daemon().name("coffer-verity-" + i).start(this::work);
        }
    }

    void submit(long startBlock, byte[] data, int blocks) throws IOException {
        check();
        synchronized (lock) {
            pending++;
        }
        Task task = new Task(startBlock, data, blocks);
        if (!tasks.offer(task)) {
            // Workers are behind: hash this chunk here rather than wait, so the producer's
            // share of the CPU is never spent idle.
            process(task, callerDigest);
        }
    }

    /** Level-0 entries for a run of zero blocks; the image file keeps a hole there. */
    void submitZeros(long startBlock, long blocks, byte[] zeroHash) throws IOException {
        check();
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(blocks, 8192) * zeroHash.length);
        long done = 0;
        while (done < blocks) {
            int n = (int) Math.min(blocks - done, 8192);
            buf.clear();
            for (int i = 0; i < n; i++) buf.put(zeroHash);
            buf.flip();
            VerityTree.writeFully(level0, buf, (startBlock + done) * zeroHash.length);
            done += n;
        }
    }

    byte[] freeBuffer(int size) {
        byte[] b = free.poll();
        return b != null ? b : new byte[size];
    }

    void drain() throws IOException {
        synchronized (lock) {
            while (pending > 0 && failure.get() == null) {
                try {
                    lock.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while hashing the layer", e);
                }
            }
        }
        check();
    }

    void shutdown() {
        for (Thread w : workers) {
            w.interrupt();
        }
    }

    private void check() throws IOException {
        Throwable t = failure.get();
        if (t instanceof IOException io) throw new IOException("hashing the layer failed: " + io.getMessage(), io);
        if (t != null) throw new IllegalStateException("hashing the layer failed", t);
    }

    private final MessageDigest callerDigest = VerityTree.sha256();

    private void work() {
        MessageDigest md = VerityTree.sha256();
        try {
            while (true) {
                Task t = tasks.take();
                if (t == STOP) return;
                process(t, md);
            }
        } catch (InterruptedException e) {
            // shut down
        }
    }

    private void process(Task t, MessageDigest md) {
        try {
            byte[] out = new byte[t.blocks() * 32];
            for (int i = 0; i < t.blocks(); i++) {
                md.update(SALT);
                md.update(t.data(), i * VerityTree.BLOCK, VerityTree.BLOCK);
                md.digest(out, i * 32, 32);
            }
            VerityTree.writeFully(level0, ByteBuffer.wrap(out), t.startBlock() * 32);
            if (image != null) {
                VerityTree.writeFully(image, ByteBuffer.wrap(t.data(), 0, t.blocks() * VerityTree.BLOCK),
                        t.startBlock() * VerityTree.BLOCK);
            }
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        } finally {
            free.offer(t.data());
            synchronized (lock) {
                pending--;
                lock.notifyAll();
            }
        }
    }
}
