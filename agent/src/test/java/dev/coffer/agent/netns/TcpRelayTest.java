package dev.coffer.agent.netns;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The guest's TCP relay over real loopback sockets: both directions, half-close, many at once, a dead far side. */
class TcpRelayTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    /** An upper-casing echo server that answers once its client half-closes, like an HTTP/1.0 exchange. */
    private static ServerSocket upperCaseServer(ExecutorService pool) throws Exception {
        ServerSocket server = new ServerSocket(0, 50, LOOPBACK);
        pool.submit(() -> {
            while (!server.isClosed()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (java.io.IOException e) {
                    return null;
                }
                pool.submit(() -> {
                    try (s) {
                        byte[] all = s.getInputStream().readAllBytes();
                        s.getOutputStream().write(new String(all, StandardCharsets.UTF_8).toUpperCase().getBytes(StandardCharsets.UTF_8));
                    }
                    return null;
                });
            }
            return null;
        });
        return server;
    }

    private static String exchange(InetSocketAddress at, String text) throws Exception {
        try (Socket s = new Socket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(text.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void bytesFlowBothWaysAndHalfCloseReachesTheFarSide() throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); ServerSocket far = upperCaseServer(pool);
             TcpRelay relay = TcpRelay.start("test", new InetSocketAddress(LOOPBACK, 0), () -> {
                 SocketChannel c = SocketChannel.open();
                 c.connect(far.getLocalSocketAddress());
                 return c;
             })) {
            assertEquals("HELLO THROUGH THE RELAY", exchange(relay.address(), "hello through the relay"));
            // a body larger than the relay's buffer, byte-exact
            String big = "abcdefghij".repeat(50_000);
            assertEquals(big.toUpperCase(), exchange(relay.address(), big));
            // more concurrent connections than one at a time
            List<Callable<String>> calls = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                String t = "conn-" + i;
                calls.add(() -> exchange(relay.address(), t));
            }
            List<Future<String>> answers = pool.invokeAll(calls);
            for (int i = 0; i < answers.size(); i++) assertEquals("CONN-" + i, answers.get(i).get());
        }
    }

    @Test
    void aRefusedFarSideClosesTheClientAndTheRelayKeepsServing() throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            dead = s.getLocalPort();
        }
        try (TcpRelay relay = TcpRelay.start("dead", new InetSocketAddress(LOOPBACK, 0), () -> {
            SocketChannel c = SocketChannel.open();
            try {
                c.connect(new InetSocketAddress(LOOPBACK, dead));
            } catch (java.io.IOException e) {
                c.close();
                throw e;
            }
            return c;
        })) {
            for (int i = 0; i < 3; i++) {
                try (Socket s = new Socket(relay.address().getAddress(), relay.address().getPort())) {
                    s.setSoTimeout(20_000);
                    // closed at once, without a byte: the client learns there is nobody behind the relay
                    assertEquals(-1, s.getInputStream().read());
                }
            }
        }
    }

    @Test
    void aTakenAddressIsAClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, LOOPBACK)) {
            java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> TcpRelay.start("busy", new InetSocketAddress(LOOPBACK, taken.getLocalPort()), SocketChannel::open));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith("cannot listen on"), e.getMessage());
        }
    }
}
