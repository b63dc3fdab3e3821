package dev.coffer.agent.transport;

import dev.coffer.agent.RequestHandler;
import dev.coffer.agent.protocol.FrameException;
import dev.coffer.agent.protocol.Frames;
import dev.coffer.agent.protocol.Protocol;
import dev.coffer.agent.protocol.Response;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Serves the agent protocol on a UNIX socket: one virtual thread per connection, frames in,
 * frames out. A broken frame gets an error reply and closes only that connection; the agent
 * keeps serving others.
 *
 * <p>Bounded so a peer cannot exhaust the agent: at most {@link Limits#connections()} connections
 * at once (one more is answered with an error frame and closed), and at most
 * {@link Limits#inFlightBytes()} bytes of request frames held across all connections (each frame
 * at most {@link Frames#MAX_FRAME_BYTES}); a frame that does not fit the budget is refused.
 */
public final class UnixSocketServer implements AutoCloseable {
    /** The bounds; {@link #DEFAULT} serves a host runtime with room to spare (it opens a handful). */
    public record Limits(int connections, long inFlightBytes) {
        public static final Limits DEFAULT = new Limits(32, 4L * Frames.MAX_FRAME_BYTES);

        public Limits {
            if (connections < 1 || inFlightBytes < Frames.MAX_FRAME_BYTES) {
                throw new IllegalArgumentException("expected at least one connection and one largest frame in flight, found "
                        + connections + " and " + inFlightBytes + " bytes");
            }
        }
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private final RequestHandler handler;
    private final Limits limits;
    private final java.util.concurrent.Semaphore connections;
    private final java.util.concurrent.atomic.AtomicLong inFlight = new java.util.concurrent.atomic.AtomicLong();

    private UnixSocketServer(ServerSocketChannel server, Path socket, RequestHandler handler, Limits limits) {
        this.server = server;
        this.socket = socket;
        this.handler = handler;
        this.limits = limits;
        this.connections = new java.util.concurrent.Semaphore(limits.connections());
    }

    public static UnixSocketServer bind(Path socket, RequestHandler handler) throws IOException {
        return bind(socket, handler, Limits.DEFAULT);
    }

    public static UnixSocketServer bind(Path socket, RequestHandler handler, Limits limits) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // only the owner (root) may drive the agent
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        return new UnixSocketServer(server, socket, handler, limits);
    }

    /** Accepts connections until shutdown_sandbox succeeded or the server is closed. */
    public void serve() {
        while (server.isOpen() && !handler.shutdownRequested()) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            if (!connections.tryAcquire()) {
                refuse(channel);
                continue;
            }
            Thread.ofVirtual().name("agent-conn").start(() -> {
                try {
                    serveConnection(channel);
                } finally {
                    connections.release();
                }
            });
        }
    }

    /** One connection too many: an error frame says why, then it is closed (on a thread of its own: the peer may not read). */
    private void refuse(SocketChannel channel) {
        Thread.ofVirtual().name("agent-conn-refused").start(() -> {
            try (channel; OutputStream out = Channels.newOutputStream(channel)) {
                Frames.write(out, Protocol.encode(Response.error(0, new Response.Failure(Response.Failure.FAILED,
                        "expected at most " + limits.connections() + " connections to the agent at once, found one more;"
                                + " close idle clients and connect again"))));
            } catch (IOException ignored) {
                // the peer left already
            }
        });
    }

    /** Takes {@code length} bytes from the in-flight budget, or says no. */
    private boolean reserve(int length) {
        while (true) {
            long now = inFlight.get();
            if (now + length > limits.inFlightBytes()) return false;
            if (inFlight.compareAndSet(now, now + length)) return true;
        }
    }

    private void serveConnection(SocketChannel channel) {
        try (channel; InputStream in = Channels.newInputStream(channel); OutputStream out = Channels.newOutputStream(channel)) {
            // bytes this connection holds of the budget: released after each request, and when it ends mid-frame
            int[] held = {0};
            try {
                serveFrames(in, out, held);
            } finally {
                inFlight.addAndGet(-held[0]);
            }
        } catch (IOException e) {
            // the peer went away; nothing to answer
        }
    }

    private void serveFrames(InputStream in, OutputStream out, int[] held) throws IOException {
        while (true) {
            byte[] body;
            try {
                body = Frames.read(in, length -> {
                    if (!reserve(length)) return false;
                    held[0] = length;
                    return true;
                });
            } catch (FrameException e) {
                Frames.write(out, Protocol.encode(Response.error(0,
                        new Response.Failure(Response.Failure.BAD_FRAME, e.getMessage()))));
                return; // the stream is out of sync; the peer must reconnect
            }
            if (body == null) return;
            Response response;
            try {
                response = handler.handle(body);
            } finally {
                inFlight.addAndGet(-held[0]); // the request's bytes are no longer held once decided
                held[0] = 0;
            }
            byte[] encoded = Protocol.encode(response);
            if (encoded.length > Frames.MAX_FRAME_BYTES) {
                encoded = Protocol.encode(Response.error(response.id(), new Response.Failure(Response.Failure.FAILED,
                        "expected a response within " + Frames.MAX_FRAME_BYTES + " bytes, found " + encoded.length
                                + "; ask for less (smaller maxBytes)")));
            }
            Frames.write(out, encoded);
            if (handler.shutdownRequested()) {
                close();
                return;
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing twice or after the peer left is harmless
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // the socket file is recreated on the next bind anyway
        }
    }
}
