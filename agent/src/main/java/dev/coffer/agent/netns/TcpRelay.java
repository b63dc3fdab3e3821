package dev.coffer.agent.netns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Semaphore;

/**
 * Listens on one address and passes each accepted connection, byte for byte in both directions,
 * to a connection {@link Target} opens. Virtual threads; a bounded number of connections at once
 * (further ones wait in the backlog). Each direction ends with a half-close, so request/response
 * protocols that shut down their sending side (HTTP/1.0 clients, {@code nc -N}) still work.
 */
public final class TcpRelay implements AutoCloseable {
    static final int MAX_CONNECTIONS = 128;

    /** Opens the far side for one accepted connection. */
    @FunctionalInterface
    public interface Target {
        SocketChannel open() throws IOException;
    }

    private final String name;
    private final ServerSocketChannel server;
    private final Target target;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Thread acceptor;

    private TcpRelay(String name, ServerSocketChannel server, Target target) {
        this.name = name;
        this.server = server;
        this.target = target;
        this.acceptor = Thread.ofVirtual().name("relay-" + name).unstarted(this::acceptLoop);
    }

    public static TcpRelay start(String name, InetSocketAddress listen, Target target) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(listen, 64);
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + listen.getAddress().getHostAddress() + ":" + listen.getPort() + " for the "
                    + name + " relay: " + e.getMessage() + (e instanceof java.net.BindException
                    ? "; something else on this host uses that port" : ""), e);
        }
        TcpRelay relay = new TcpRelay(name, server, target);
        relay.acceptor.start();
        return relay;
    }

    /** {@code fresh} connected to {@code to}; closed again if the connection fails, so no descriptor leaks. */
    public static SocketChannel connected(SocketChannel fresh, InetSocketAddress to) throws IOException {
        try {
            fresh.connect(to);
            return fresh;
        } catch (IOException | RuntimeException e) {
            fresh.close();
            throw e;
        }
    }

    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) server.getLocalAddress();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            SocketChannel client;
            try {
                slots.acquire();
                client = server.accept();
            } catch (IOException | InterruptedException e) {
                slots.release();
                if (server.isOpen()) System.err.println("coffer-agent: " + name + " relay stopped accepting: " + e.getMessage());
                return;
            }
            Thread.ofVirtual().name("relay-" + name + "-conn").start(() -> {
                try (client; SocketChannel far = target.open()) {
                    Thread back = Thread.ofVirtual().start(() -> pump(far, client));
                    pump(client, far);
                    back.join();
                } catch (IOException e) {
                    // the far side refused or vanished: closing the client tells it so
                    System.err.println("coffer-agent: " + name + " relay: " + e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    slots.release();
                }
            });
        }
    }

    private static void pump(SocketChannel from, SocketChannel to) {
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        try {
            while (from.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) to.write(buf);
                buf.clear();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            // one side reset: close both so the other direction ends too
            try {
                from.close();
                to.close();
            } catch (IOException ignored) {
                // already closing
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            System.err.println("coffer-agent: closing the " + name + " relay: " + e.getMessage());
        }
        acceptor.interrupt();
        // A channel closed while a thread waits in accept() releases its socket only when that
        // thread leaves: wait for it, so the port is free once close() returns.
        try {
            acceptor.join(java.time.Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
