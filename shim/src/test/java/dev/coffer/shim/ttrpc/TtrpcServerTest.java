package dev.coffer.shim.ttrpc;

import com.google.protobuf.ByteString;
import dev.coffer.shim.proto.Ttrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ttrpc server over a real unix socket, driven with raw frames where the edge cases need them. */
class TtrpcServerTest {
    @TempDir
    Path dir;
    TtrpcServer server;
    final CountDownLatch released = new CountDownLatch(1);
    final List<String> log = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        TtrpcService echo = new TtrpcService("test.v1.Echo", Map.of(
                "Echo", request -> request,
                "Refuse", request -> {
                    throw new TtrpcException(Code.PERMISSION_DENIED, "refused: " + new String(request, StandardCharsets.UTF_8));
                },
                "Crash", request -> {
                    throw new IllegalStateException("bug");
                },
                "Block", request -> {
                    try {
                        released.await();
                    } catch (InterruptedException e) {
                        throw new TtrpcException(Code.CANCELLED, "interrupted");
                    }
                    return "unblocked".getBytes(StandardCharsets.UTF_8);
                },
                "Release", request -> {
                    released.countDown();
                    return new byte[0];
                }));
        server = new TtrpcServer(dir.resolve("t.sock"), List.of(echo), line -> {
            synchronized (log) {
                log.add(line);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() throws IOException {
        released.countDown();
        server.close();
    }

    private SocketChannel connect() throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(server.socket()));
        return c;
    }

    private static byte[] request(String service, String method, byte[] payload) {
        return Ttrpc.Request.newBuilder().setService(service).setMethod(method).setPayload(ByteString.copyFrom(payload))
                .build().toByteArray();
    }

    private static Ttrpc.Response response(SocketChannel c, int expectedStream) throws IOException {
        Frame f = (Frame) Frame.read(c);
        assertEquals(Frame.RESPONSE, f.type());
        assertEquals(expectedStream, f.streamId());
        return Ttrpc.Response.parseFrom(f.payload());
    }

    @Test
    void echoesOverTheClient() throws Exception {
        try (TtrpcClient client = new TtrpcClient(server.socket())) {
            assertArrayEquals("hi".getBytes(), client.call("test.v1.Echo", "Echo", "hi".getBytes()));
            byte[] big = new byte[1 << 20];
            big[12345] = 7;
            assertArrayEquals(big, client.call("test.v1.Echo", "Echo", big), "a 1 MiB payload, under the 4 MiB limit");
        }
    }

    @Test
    void unknownServiceAndMethodAreUnimplemented() throws Exception {
        try (TtrpcClient client = new TtrpcClient(server.socket())) {
            TtrpcException s = assertThrows(TtrpcException.class, () -> client.call("containerd.task.v2.Task", "State", new byte[0]));
            assertEquals(Code.UNIMPLEMENTED, s.code());
            assertTrue(s.getMessage().contains("service containerd.task.v2.Task is not served here (served: test.v1.Echo)"), s.getMessage());
            TtrpcException m = assertThrows(TtrpcException.class, () -> client.call("test.v1.Echo", "Nope", new byte[0]));
            assertEquals(Code.UNIMPLEMENTED, m.code());
            assertTrue(m.getMessage().contains("method test.v1.Echo/Nope is not implemented"), m.getMessage());
            // the connection survives refusals
            assertArrayEquals("ok".getBytes(), client.call("test.v1.Echo", "Echo", "ok".getBytes()));
        }
    }

    @Test
    void handlerErrorsKeepTheirCodeAndBugsBecomeInternal() throws Exception {
        try (TtrpcClient client = new TtrpcClient(server.socket())) {
            TtrpcException refused = assertThrows(TtrpcException.class, () -> client.call("test.v1.Echo", "Refuse", "x".getBytes()));
            assertEquals(Code.PERMISSION_DENIED, refused.code());
            assertEquals("refused: x", refused.getMessage());
            TtrpcException crash = assertThrows(TtrpcException.class, () -> client.call("test.v1.Echo", "Crash", new byte[0]));
            assertEquals(Code.INTERNAL, crash.code());
        }
    }

    @Test
    void oversizedFrameIsRefusedWithResourceExhaustedAndTheConnectionGoesOn() throws Exception {
        try (SocketChannel c = connect()) {
            int length = Frame.MAX_PAYLOAD + 1;
            ByteBuffer header = ByteBuffer.allocate(Frame.HEADER).putInt(length).putInt(5).put(Frame.REQUEST).put((byte) 0).flip();
            c.write(header);
            ByteBuffer body = ByteBuffer.allocate(length);
            while (body.hasRemaining()) c.write(body);
            Ttrpc.Response r = response(c, 5);
            assertEquals(Code.RESOURCE_EXHAUSTED.value(), r.getStatus().getCode());
            assertTrue(r.getStatus().getMessage().contains("message length 4194305 exceeds the maximum message size of 4194304"),
                    r.getStatus().getMessage());
            new Frame(7, Frame.REQUEST, (byte) 0, request("test.v1.Echo", "Echo", "after".getBytes())).write(c);
            assertArrayEquals("after".getBytes(), response(c, 7).getPayload().toByteArray());
        }
    }

    @Test
    void lengthNearFourGigabytesIsNotAllocated() throws Exception {
        // 0xFFFFFFFF as an unsigned length: refused without reading a payload that never comes
        try (SocketChannel c = connect()) {
            c.write(ByteBuffer.allocate(Frame.HEADER).putInt(-1).putInt(9).put(Frame.REQUEST).put((byte) 0).flip());
            c.shutdownOutput();
            assertNull(Frame.read(c), "the server closes the connection when the oversized payload ends early");
        }
        assertTrue(serverStillAnswers());
    }

    @Test
    void truncatedFrameClosesThatConnectionOnly() throws Exception {
        try (SocketChannel c = connect()) {
            c.write(ByteBuffer.allocate(Frame.HEADER + 10).putInt(100).putInt(1).put(Frame.REQUEST).put((byte) 0)
                    .put(new byte[10]).flip());
            c.shutdownOutput();
            assertNull(Frame.read(c), "no response to a frame whose payload never arrived");
        }
        try (SocketChannel c = connect()) {
            c.write(ByteBuffer.allocate(4).putInt(100).flip()); // half a header
            c.shutdownOutput();
            assertNull(Frame.read(c));
        }
        assertTrue(serverStillAnswers());
        synchronized (log) {
            assertTrue(log.stream().anyMatch(l -> l.contains("expected 100 bytes of a ttrpc payload, found the stream ended after 10")), log.toString());
            assertTrue(log.stream().anyMatch(l -> l.contains("expected 10 bytes of a ttrpc header, found the stream ended after 4")), log.toString());
        }
    }

    @Test
    void truncatedFrameIsAnEofForTheReader() {
        ByteBuffer bytes = ByteBuffer.allocate(Frame.HEADER + 3).putInt(8).putInt(1).put(Frame.RESPONSE).put((byte) 0).put(new byte[3]).flip();
        var in = java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(bytes.array()));
        EOFException e = assertThrows(EOFException.class, () -> Frame.read(in));
        assertEquals("expected 8 bytes of a ttrpc payload, found the stream ended after 3", e.getMessage());
    }

    @Test
    void malformedRequestAndEvenStreamIdAreInvalidArgument() throws Exception {
        try (SocketChannel c = connect()) {
            new Frame(1, Frame.REQUEST, (byte) 0, new byte[]{(byte) 0xff, 0x01, 0x02}).write(c);
            Ttrpc.Response r = response(c, 1);
            assertEquals(Code.INVALID_ARGUMENT.value(), r.getStatus().getCode());
            assertTrue(r.getStatus().getMessage().startsWith("expected a ttrpc.Request protobuf, found 3 bytes"), r.getStatus().getMessage());

            new Frame(2, Frame.REQUEST, (byte) 0, request("test.v1.Echo", "Echo", "x".getBytes())).write(c);
            Ttrpc.Response even = response(c, 2);
            assertEquals(Code.INVALID_ARGUMENT.value(), even.getStatus().getCode());
            assertTrue(even.getStatus().getMessage().contains("expected an odd stream id"), even.getStatus().getMessage());

            // a frame of another type is ignored, as ttrpc does for forward compatibility; the next request is answered
            new Frame(3, (byte) 9, (byte) 0, new byte[]{1, 2, 3}).write(c);
            new Frame(5, Frame.REQUEST, (byte) 0, request("test.v1.Echo", "Echo", "y".getBytes())).write(c);
            assertArrayEquals("y".getBytes(), response(c, 5).getPayload().toByteArray());
        }
    }

    @Test
    void aBlockedCallDoesNotHoldUpTheNextOnTheSameConnection() throws Exception {
        // containerd waits on a task and kills it over one connection: the Kill must be answered while Wait blocks
        try (SocketChannel c = connect()) {
            new Frame(1, Frame.REQUEST, (byte) 0, request("test.v1.Echo", "Block", new byte[0])).write(c);
            new Frame(3, Frame.REQUEST, (byte) 0, request("test.v1.Echo", "Release", new byte[0])).write(c);
            Frame first = (Frame) Frame.read(c);
            Frame second = (Frame) Frame.read(c);
            assertEquals(3, first.streamId(), "Release answered first: Block only returns after it");
            assertEquals(1, second.streamId());
            assertEquals("unblocked", Ttrpc.Response.parseFrom(second.payload()).getPayload().toStringUtf8());
        }
    }

    @Test
    void closeRemovesTheSocket() throws Exception {
        server.close();
        assertFalse(java.nio.file.Files.exists(server.socket()));
        assertThrows(IOException.class, () -> new TtrpcClient(server.socket()));
    }

    private boolean serverStillAnswers() throws Exception {
        try (TtrpcClient client = new TtrpcClient(server.socket())) {
            return new String(client.call("test.v1.Echo", "Echo", "alive".getBytes())).equals("alive");
        }
    }
}
