package dev.coffer.oci.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A response body as an InputStream whose reads give up when no data arrives for a while.
 * Java's HttpClient times out waiting for response headers only; a registry or proxy that
 * stalls mid-body would otherwise block a pull forever. A stall is an IOException like a cut
 * connection, so the download loop resumes it with a Range request.
 */
final class TimedBody extends InputStream implements HttpResponse.BodySubscriber<InputStream> {
    private record Chunk(List<ByteBuffer> buffers) {}

    private record Failure(Throwable error) {}

    private static final Object END = new Object();

    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final long timeoutNanos;
    private final String what;
    private final CompletableFuture<InputStream> body = CompletableFuture.completedFuture(this);
    private volatile Flow.Subscription subscription;
    private Iterator<ByteBuffer> current = Collections.emptyIterator();
    private ByteBuffer buffer;
    private boolean done;
    private volatile boolean closed;

    TimedBody(Duration timeout, String what) {
        this.timeoutNanos = timeout.toNanos();
        this.what = what;
    }

    static HttpResponse.BodyHandler<InputStream> handler(Duration timeout, String what) {
        return info -> new TimedBody(timeout, what);
    }

    @Override
    public CompletionStage<InputStream> getBody() {
        return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (closed) {
            s.cancel();
        } else {
            s.request(1);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        queue.offer(new Chunk(item));
    }

    @Override
    public void onError(Throwable t) {
        queue.offer(new Failure(t));
    }

    @Override
    public void onComplete() {
        queue.offer(END);
    }

    private boolean fill() throws IOException {
        while (buffer == null || !buffer.hasRemaining()) {
            if (current.hasNext()) {
                buffer = current.next();
                continue;
            }
            if (done) return false;
            if (closed) throw new IOException("the response body of " + what + " was closed");
            Object next;
            try {
                next = queue.poll(timeoutNanos, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cancel();
                throw new InterruptedIOException("interrupted while reading " + what);
            }
            if (next == null) {
                cancel();
                throw new IOException("no data for " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos)
                        + " s while reading " + what + ": the connection stalled");
            }
            if (next == END) {
                done = true;
                return false;
            }
            if (next instanceof Failure(Throwable error)) {
                done = true;
                throw error instanceof IOException io ? io : new IOException(error.getMessage(), error);
            }
            current = ((Chunk) next).buffers().iterator();
            Flow.Subscription s = subscription;
            if (s != null) s.request(1);
        }
        return true;
    }

    @Override
    public int read() throws IOException {
        return fill() ? buffer.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) return 0;
        if (!fill()) return -1;
        int n = Math.min(len, buffer.remaining());
        buffer.get(b, off, n);
        return n;
    }

    @Override
    public int available() {
        return buffer == null ? 0 : buffer.remaining();
    }

    @Override
    public void close() {
        closed = true;
        cancel();
    }

    private void cancel() {
        Flow.Subscription s = subscription;
        if (s != null) s.cancel();
    }
}
