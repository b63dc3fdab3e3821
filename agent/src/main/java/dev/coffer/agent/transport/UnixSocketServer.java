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
 */
public final class UnixSocketServer implements AutoCloseable {
    private final ServerSocketChannel server;
    private final Path socket;
    private final RequestHandler handler;

    private UnixSocketServer(ServerSocketChannel server, Path socket, RequestHandler handler) {
        this.server = server;
        this.socket = socket;
        this.handler = handler;
    }

    public static UnixSocketServer bind(Path socket, RequestHandler handler) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // only the owner (root) may drive the agent
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        return new UnixSocketServer(server, socket, handler);
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
            Thread.ofVirtual().name("agent-conn").start(() -> serveConnection(channel));
        }
    }

    private void serveConnection(SocketChannel channel) {
        try (channel; InputStream in = Channels.newInputStream(channel); OutputStream out = Channels.newOutputStream(channel)) {
            while (true) {
                byte[] body;
                try {
                    body = Frames.read(in);
                } catch (FrameException e) {
                    Frames.write(out, Protocol.encode(Response.error(0,
                            new Response.Failure(Response.Failure.BAD_FRAME, e.getMessage()))));
                    return; // the stream is out of sync; the peer must reconnect
                }
                if (body == null) return;
                Response response = handler.handle(body);
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
        } catch (IOException e) {
            // the peer went away; nothing to answer
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
