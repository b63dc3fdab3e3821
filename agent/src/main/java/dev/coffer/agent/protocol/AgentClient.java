package dev.coffer.agent.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * The host's side of the agent protocol over one byte-stream connection. Calls are serialized;
 * open one client per concurrent caller (e.g. one for a long wait_container, one for the rest).
 */
public final class AgentClient implements AutoCloseable {
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;
    private long nextId = 1;

    private AgentClient(SocketChannel channel) {
        this.channel = channel;
        this.in = Channels.newInputStream(channel);
        this.out = Channels.newOutputStream(channel);
    }

    public static AgentClient connect(Path socket) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot connect to the agent at " + socket + " (" + e.getMessage() + ")", e);
        }
        return new AgentClient(channel);
    }

    /** Sends a request and returns the agent's response, ok or error. */
    public synchronized Response exchange(Request request) throws IOException {
        long id = nextId++;
        Frames.write(out, Protocol.encode(new RequestEnvelope(Protocol.VERSION, id, request)));
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
        if (response.id() != id && response.id() != 0) {
            throw new IOException("expected the agent's response to request " + id + ", found one for " + response.id());
        }
        return response;
    }

    /**
     * Sends a request and returns its result, or throws {@link AgentCallException} with the
     * agent's reason.
     */
    public <R extends Result> R call(Request request, Class<R> expected) throws IOException {
        Response response = exchange(request);
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
