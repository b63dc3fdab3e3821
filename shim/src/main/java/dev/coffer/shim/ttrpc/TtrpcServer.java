package dev.coffer.shim.ttrpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.coffer.shim.proto.Ttrpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A ttrpc server on a unix socket. Each connection is read by one thread; each request runs on a
 * virtual thread of its own, because containerd keeps one connection per shim and blocks a Wait
 * on it while it sends Kill and State. Responses are written whole, one at a time.
 */
public final class TtrpcServer implements AutoCloseable {
    private final Path socket;
    private final Map<String, TtrpcService> services = new LinkedHashMap<>();
    private final Consumer<String> log;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private ServerSocketChannel listener;
    private Thread acceptor;

    /** @param log where protocol errors of a connection are reported (the shim's log file) */
    public TtrpcServer(Path socket, List<TtrpcService> services, Consumer<String> log) {
        this.socket = socket;
        for (TtrpcService s : services) this.services.put(s.name(), s);
        this.log = log;
    }

    /** Binds the socket (removing a stale socket file first) and starts accepting. */
    public synchronized void start() throws IOException {
        Files.createDirectories(socket.getParent());
        Files.deleteIfExists(socket);
        listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(socket));
        acceptor = Thread.ofPlatform().name("ttrpc-accept").daemon(true).start(this::acceptLoop);
    }

    public Path socket() {
        return socket;
    }

    private void acceptLoop() {
        while (listener.isOpen()) {
            SocketChannel conn;
            try {
                conn = listener.accept();
            } catch (IOException e) {
                if (listener.isOpen()) log.accept("ttrpc: accept failed: " + e.getMessage());
                return;
            }
            connections.add(conn);
            Thread.ofVirtual().name("ttrpc-conn").start(() -> serve(conn));
        }
    }

    private void serve(SocketChannel conn) {
        try (conn) {
            while (true) {
                Object next = Frame.read(conn);
                if (next == null) return;
                if (next instanceof Frame.Oversized o) {
                    if (o.type() == Frame.REQUEST) {
                        respond(conn, o.streamId(), error(Code.RESOURCE_EXHAUSTED, "message length " + o.length()
                                + " exceeds the maximum message size of " + Frame.MAX_PAYLOAD));
                    }
                    continue;
                }
                Frame frame = (Frame) next;
                // other types (responses, future stream data) are ignored, as ttrpc servers do
                if (frame.type() != Frame.REQUEST) continue;
                if ((frame.streamId() & 1) == 0) {
                    respond(conn, frame.streamId(), error(Code.INVALID_ARGUMENT,
                            "expected an odd stream id for a client-initiated stream, found " + Integer.toUnsignedString(frame.streamId())));
                    continue;
                }
                Thread.ofVirtual().name("ttrpc-call").start(() -> respond(conn, frame.streamId(), dispatch(frame.payload())));
            }
        } catch (IOException e) {
            log.accept("ttrpc: connection closed: " + e.getMessage());
        } finally {
            connections.remove(conn);
        }
    }

    /** Runs one request to its response; never throws (every failure becomes a status). */
    Ttrpc.Response dispatch(byte[] payload) {
        Ttrpc.Request request;
        try {
            request = Ttrpc.Request.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            return error(Code.INVALID_ARGUMENT, "expected a ttrpc.Request protobuf, found " + payload.length
                    + " bytes that do not parse: " + e.getMessage());
        }
        TtrpcService service = services.get(request.getService());
        if (service == null) {
            return error(Code.UNIMPLEMENTED, "service " + request.getService() + " is not served here (served: "
                    + String.join(", ", services.keySet()) + ")");
        }
        TtrpcService.Method method = service.methods().get(request.getMethod());
        if (method == null) {
            return error(Code.UNIMPLEMENTED, "method " + request.getService() + "/" + request.getMethod() + " is not implemented");
        }
        try {
            byte[] out = method.call(request.getPayload().toByteArray());
            return Ttrpc.Response.newBuilder().setStatus(Ttrpc.Status.newBuilder().setCode(Code.OK.value()))
                    .setPayload(ByteString.copyFrom(out)).build();
        } catch (TtrpcException e) {
            return error(e.code(), e.getMessage());
        } catch (RuntimeException e) {
            log.accept("ttrpc: " + request.getService() + "/" + request.getMethod() + " failed: " + e);
            return error(Code.INTERNAL, request.getMethod() + " failed: " + e);
        }
    }

    static Ttrpc.Response error(Code code, String message) {
        return Ttrpc.Response.newBuilder().setStatus(Ttrpc.Status.newBuilder().setCode(code.value()).setMessage(message)).build();
    }

    private void respond(SocketChannel conn, int streamId, Ttrpc.Response response) {
        Frame frame = new Frame(streamId, Frame.RESPONSE, (byte) 0, response.toByteArray());
        synchronized (conn) {
            try {
                frame.write(conn);
            } catch (IOException e) {
                log.accept("ttrpc: response to stream " + Integer.toUnsignedString(streamId) + " not delivered: " + e.getMessage());
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (listener != null) listener.close();
        for (SocketChannel c : connections) c.close();
        Files.deleteIfExists(socket);
    }
}
