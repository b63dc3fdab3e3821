package dev.coffer.server.bench;

import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The load generator against a real server: both modes complete without errors, and its HTTP client reads what servers send. */
class LoadGeneratorTest {
    @Test
    void attestAndReleaseRunsAgainstARealServer(@TempDir Path home) throws Exception {
        // over HTTPS, as `coffer server bench` meets `coffer server`, its certificate pinned
        try (CofferServer server = CofferServer.start(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            String admin = Files.readString(home.resolve("server/admin-token")).strip();
            var trust = new dev.coffer.server.client.ServerTrust.PinnedCertificate(server.pins().tlsCertificate());
            LoadGenerator.Result attest = LoadGenerator.run(new LoadGenerator.Config(server.url(), admin, home,
                    LoadGenerator.Mode.attest, 0, 2, 0, 1, trust));
            assertEquals(0, attest.errors(), attest.firstError());
            assertTrue(attest.requests() > 0, attest.summary());
            assertTrue(attest.p99Millis() >= attest.p50Millis(), attest.summary());
            // the attest path is queued: every answer said how long it waited, reported apart
            assertTrue(attest.queueP50Millis() >= 0 && attest.queueMaxMillis() >= attest.queueP99Millis(), attest.summary());
            assertTrue(attest.summary().contains("server queue p50"), attest.summary());
            assertEquals(0, attest.overloaded(), attest.summary());

            LoadGenerator.Result release = LoadGenerator.run(new LoadGenerator.Config(server.url(), admin, home,
                    LoadGenerator.Mode.release, 20, 2, 0, 1, trust));
            assertEquals(0, release.errors(), release.firstError());
            // open loop at 20/s for 1 s: the pacer issues exactly the due requests
            assertEquals(20, release.requests(), release.summary());
        }
    }

    @Test
    void errorsAreCountedNotHidden(@TempDir Path home) throws Exception {
        try (CofferServer server = CofferServer.startPlainHttpOnLoopback(ServerConfig.defaults(home).withPort(0).withTrustSim(true))) {
            // a wrong admin token: setup (key creation) fails with the server's reason
            var e = assertThrows(dev.coffer.server.client.ApiClientException.class, () -> LoadGenerator.run(
                    new LoadGenerator.Config(server.url(), "wrong-token", home, LoadGenerator.Mode.release, 10, 1, 0, 1)));
            assertFalse(e.getMessage().isBlank());
        }
    }

    @Test
    void theQueueTimeIsReadFromServerTiming() {
        assertEquals(1.25, HttpConnection.metric("queue;dur=1.250, handle;dur=0.400", "queue"));
        assertEquals(0.5, HttpConnection.metric("handle;dur=3, queue;desc=\"wait\";dur=0.5", "queue"));
        assertEquals(-1, HttpConnection.metric("handle;dur=3", "queue"));
        assertEquals(-1, HttpConnection.metric("queue;dur=abc", "queue"));
        var t = HttpConnection.ServerTiming.parse("recv;dur=0.250, queue;dur=1.000, handle;dur=2.500");
        assertEquals(new HttpConnection.ServerTiming(0.25, 1.0, 2.5), t);
        assertEquals(3.75, t.serverMillis(), 1e-9);
        // a server that leaves out any part accounts for nothing
        assertEquals(-1, HttpConnection.ServerTiming.parse("queue;dur=1, handle;dur=2").serverMillis());
    }

    @Test
    void connectionReadsChunkedAndCloseDelimitedAnswers() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread peer = Thread.ofPlatform().start(() -> {
                try (var s = ss.accept()) {
                    var in = s.getInputStream();
                    var out = s.getOutputStream();
                    readRequest(in);
                    out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    readRequest(in);
                    out.write("HTTP/1.1 503 Unavailable\r\nConnection: close\r\n\r\nbusy".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            URI uri = URI.create("http://127.0.0.1:" + ss.getLocalPort());
            byte[] request = HttpConnection.request(uri, "/x", "{}".getBytes(StandardCharsets.UTF_8));
            try (HttpConnection c = HttpConnection.open(uri, null)) {
                HttpConnection.Response chunked = c.exchange(request);
                assertEquals(200, chunked.status());
                assertEquals("abcde", new String(chunked.body(), StandardCharsets.US_ASCII));
                assertFalse(chunked.close());
                HttpConnection.Response closing = c.exchange(request);
                assertEquals(503, closing.status());
                assertEquals("busy", new String(closing.body(), StandardCharsets.US_ASCII));
                assertTrue(closing.close());
                assertThrows(IOException.class, () -> c.exchange(request), "the server closed the connection");
            }
            peer.join(10_000);
        }
    }

    /** Reads one request head plus its 2-byte body. */
    private static void readRequest(java.io.InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new IOException("client closed");
            head.append((char) b);
        }
        assertTrue(head.toString().startsWith("POST /x HTTP/1.1\r\n"), head.toString());
        assertTrue(head.toString().contains("Content-Length: 2\r\n"), head.toString());
        assertEquals(2, in.readNBytes(2).length);
    }
}
