package dev.coffer.agent.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The host's side of the agent protocol over one byte-stream connection. Calls are serialized;
 * open one client per concurrent caller (e.g. one for a long wait_container, one for the rest).
 *
 * <p>Every call has a deadline ({@link AgentDeadlines}): when the answer has not come by then the
 * connection is closed and the call fails with {@link AgentDeadlineException}, naming the request
 * and the deadline. The client is then closed; connect again to go on.
 */
public final class AgentClient implements AutoCloseable {
    /** One daemon thread for every client's deadlines: it only closes channels. */
    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-client-deadlines");
        t.setDaemon(true);
        return t;
    });

    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;
    private final AgentDeadlines deadlines;
    // random per connection: an answer left over from another connection (a microVM's serial
    // channel can deliver one late) then carries an id this client never sent, and is skipped
    private long nextId = 1 + new java.security.SecureRandom().nextLong(1L << 40);
    /** Answers to other ids skipped per call before the stream is taken for out of sync. */
    private static final int MAX_STALE_ANSWERS = 16;

    /** Said once before the first frame, under the first call's deadline; null when the transport needs nothing. */
    private SessionOpening opening;

    private AgentClient(SocketChannel channel, AgentDeadlines deadlines, SessionOpening opening) {
        this.channel = channel;
        this.in = Channels.newInputStream(channel);
        this.out = Channels.newOutputStream(channel);
        this.deadlines = deadlines;
        this.opening = opening;
    }

    /**
     * What a transport must exchange before the first frame: the microVM's serial relay has no
     * connections of its own, so each host connection opens its session in band and waits for
     * the guest to acknowledge it. Runs under the first call's deadline, so a session that never
     * opens ends as that call's {@link AgentDeadlineException}.
     */
    @FunctionalInterface
    public interface SessionOpening {
        void open(InputStream fromAgent, OutputStream toAgent) throws IOException;
    }

    /** Connects with the deadlines from the environment ({@link AgentDeadlines#fromEnvironment}). */
    public static AgentClient connect(Path socket) throws IOException {
        return connect(socket, AgentDeadlines.fromEnvironment(System.getenv()));
    }

    public static AgentClient connect(Path socket, AgentDeadlines deadlines) throws IOException {
        return connect(socket, deadlines, null);
    }

    /** Connects over a transport that opens each session with {@code opening} (see {@link SessionOpening}). */
    public static AgentClient connect(Path socket, AgentDeadlines deadlines, SessionOpening opening) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot connect to the agent at " + socket + " (" + e.getMessage() + ")", e);
        }
        return new AgentClient(channel, deadlines, opening);
    }

    /** Sends a request and returns the agent's response, ok or error, within the request's deadline. */
    public Response exchange(Request request) throws IOException {
        return exchange(request, deadlines.forRequest(request));
    }

    /**
     * Sends a request and returns the agent's response within {@code deadline} (the first ping to
     * a booting microVM waits as long as its boot may take).
     *
     * @throws AgentDeadlineException when no answer came in time (the client is closed then)
     */
    public synchronized Response exchange(Request request, Duration deadline) throws IOException {
        long id = nextId++;
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> timer = DEADLINES.schedule(() -> {
            expired.set(true);
            try {
                channel.close(); // unblocks the read or write below
            } catch (IOException ignored) {
                // already closed
            }
        }, deadline.toMillis(), TimeUnit.MILLISECONDS);
        Response response;
        try {
            if (opening != null) {
                opening.open(in, out);
                opening = null;
            }
            Frames.write(out, Protocol.encode(new RequestEnvelope(Protocol.VERSION, id, request)));
            response = readAnswer(request, id);
        } catch (IOException e) {
            if (expired.get()) throw new AgentDeadlineException(request.enforcementPoint(), deadline);
            throw e;
        } finally {
            timer.cancel(false);
        }
        if (expired.get()) throw new AgentDeadlineException(request.enforcementPoint(), deadline);
        return response;
    }

    /** The answer to request {@code id}: answers to ids this client did not send are stale and skipped. */
    private Response readAnswer(Request request, long id) throws IOException {
        for (int stale = 0; ; stale++) {
            byte[] body = Frames.read(in);
            if (body == null) {
                throw new IOException("expected a response from the agent to " + request.enforcementPoint()
                        + ", found the connection closed; the agent may have exited (see its log)");
            }
            Response response;
            try {
                response = Protocol.decodeResponse(body);
            } catch (ProtocolException e) {
                throw new IOException(e.getMessage(), e);
            }
            if (response.id() == id || response.id() == 0) return response;
            if (stale >= MAX_STALE_ANSWERS) {
                throw new IOException("expected the agent's response to request " + id + ", found " + (stale + 1)
                        + " answers to other requests (the last for " + response.id() + "); reconnect");
            }
        }
    }

    /**
     * Sends a request and returns its result, or throws {@link AgentCallException} with the
     * agent's reason.
     */
    public <R extends Result> R call(Request request, Class<R> expected) throws IOException {
        return call(request, expected, deadlines.forRequest(request));
    }

    /** As {@link #call(Request, Class)}, with an explicit deadline. */
    public <R extends Result> R call(Request request, Class<R> expected, Duration deadline) throws IOException {
        Response response = exchange(request, deadline);
        if (!response.ok()) {
            throw new AgentCallException(request.enforcementPoint(), response.error());
        }
        if (!expected.isInstance(response.result())) {
            throw new IOException("expected a " + expected.getSimpleName() + " result for " + request.enforcementPoint()
                    + ", found " + response.result());
        }
        return expected.cast(response.result());
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** No answer within the deadline: the agent, or the channel to it, is not answering. */
    public static final class AgentDeadlineException extends IOException {
        public AgentDeadlineException(String enforcementPoint, Duration deadline) {
            super("expected the agent's answer to " + enforcementPoint + " within " + seconds(deadline) + ", found none;"
                    + " the agent (or the microVM's channel to it) is not answering, so the connection was closed: check the"
                    + " sandbox's log or console, and raise " + AgentDeadlines.QUERY_ENV + "/" + AgentDeadlines.ACTION_ENV
                    + " only if the host is merely slow");
        }

        private static String seconds(Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
        }
    }

    /** The agent refused or failed a request; {@link #failure()} carries its code and reason. */
    public static final class AgentCallException extends IOException {
        private final Response.Failure failure;

        public AgentCallException(String enforcementPoint, Response.Failure failure) {
            super(enforcementPoint + " refused by the agent (" + failure.code() + "): " + failure.reason());
            this.failure = failure;
        }

        public Response.Failure failure() {
            return failure;
        }
    }
}
