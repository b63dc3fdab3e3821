package dev.coffer.shim.ttrpc;

import com.google.protobuf.ByteString;
import dev.coffer.shim.proto.Ttrpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/** A minimal, sequential ttrpc client (one call at a time): what tests and tools need to call a shim. */
public final class TtrpcClient implements AutoCloseable {
    private final SocketChannel channel;
    private int nextStream = 1;

    public TtrpcClient(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
    }

    /** Calls one method; a non-OK status becomes a {@link TtrpcException} with its code and message. */
    public synchronized byte[] call(String service, String method, byte[] payload) throws IOException, TtrpcException {
        int stream = nextStream;
        nextStream += 2;
        Ttrpc.Request request = Ttrpc.Request.newBuilder().setService(service).setMethod(method)
                .setPayload(ByteString.copyFrom(payload)).build();
        new Frame(stream, Frame.REQUEST, (byte) 0, request.toByteArray()).write(channel);
        while (true) {
            Object next = Frame.read(channel);
            if (next == null) throw new IOException("expected a response to stream " + stream + ", found the connection closed");
            if (next instanceof Frame f && f.type() == Frame.RESPONSE && f.streamId() == stream) {
                Ttrpc.Response response = Ttrpc.Response.parseFrom(f.payload());
                if (response.hasStatus() && response.getStatus().getCode() != 0) {
                    throw new TtrpcException(Code.of(response.getStatus().getCode()), response.getStatus().getMessage());
                }
                return response.getPayload().toByteArray();
            }
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
