package dev.coffer.agent.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The host's client against an agent that accepts and never answers: a deadline, not a hang. */
class AgentClientDeadlineTest {
    static final AgentDeadlines SHORT = new AgentDeadlines(Duration.ofMillis(300), Duration.ofMillis(500), Duration.ofSeconds(2));

    @Test
    void aSilentAgentEndsInAnErrorNamingTheRequestAndTheDeadline(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("silent.sock");
        List<SocketChannel> accepted = new ArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try {
                    // reads what the host sends, answers nothing
                    SocketChannel c = server.accept();
                    synchronized (accepted) {
                        accepted.add(c);
                    }
                    ByteBuffer buf = ByteBuffer.allocate(1 << 16);
                    while (c.read(buf) >= 0) buf.clear();
                } catch (Exception ignored) {
                    // closed by the test
                }
            });
            try (AgentClient client = AgentClient.connect(socket, SHORT)) {
                long t0 = System.nanoTime();
                AgentClient.AgentDeadlineException e = assertThrows(AgentClient.AgentDeadlineException.class,
                        () -> client.exchange(new Request.Ping()));
                long waitedMs = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(e.getMessage().contains("answer to ping within 300 ms, found none"), e.getMessage());
                assertTrue(waitedMs >= 250 && waitedMs < 10_000, "waited " + waitedMs + " ms");
                // the client is closed: a further call fails at once rather than reading another answer
                assertThrows(java.io.IOException.class, () -> client.exchange(new Request.GetProperties()));
            }
            synchronized (accepted) {
                for (SocketChannel c : accepted) c.close();
            }
            acceptor.join(5000);
        }
    }

    @Test
    void anAnswerLeftOverFromAnotherConnectionIsNotTakenForThisOnesAnswer(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("late.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread agent = Thread.ofVirtual().start(() -> {
                try (SocketChannel c = server.accept()) {
                    var in = java.nio.channels.Channels.newInputStream(c);
                    var out = java.nio.channels.Channels.newOutputStream(c);
                    RequestEnvelope request = Protocol.decodeRequest(Frames.read(in));
                    // what an earlier connection's request got, delivered late on this channel
                    Frames.write(out, Protocol.encode(Response.error(request.id() - 1,
                            new Response.Failure(Response.Failure.DENIED, "an answer meant for another connection"))));
                    Frames.write(out, Protocol.encode(new Response(Protocol.VERSION, request.id(), new Result.Done(), null)));
                } catch (Exception ignored) {
                    // the assertion below reports it
                }
            });
            try (AgentClient client = AgentClient.connect(socket, SHORT)) {
                Response r = client.exchange(new Request.Ping());
                assertTrue(r.ok() && r.result() instanceof Result.Done, String.valueOf(r));
            }
            agent.join(5000);
        }
    }

    @Test
    void deadlinesFollowTheRequestKindAndAreBounded() {
        AgentDeadlines d = AgentDeadlines.DEFAULT;
        assertEquals(d.query(), d.forRequest(new Request.Ping()));
        assertEquals(d.query(), d.forRequest(new Request.ReadLogs("c", 0, 100)));
        assertEquals(d.action(), d.forRequest(new Request.StartContainer("c")));
        assertEquals(Duration.ofSeconds(20).plus(d.query()), d.forRequest(new Request.WaitContainer("c", 20_000)));
        assertEquals(Duration.ofMinutes(1).plus(d.query()),
                d.forRequest(new Request.ExecInContainer("c", List.of("true"), List.of(), "/", 0)));
        // a request asking for days waits no longer than the agent would, plus the margin, within the bound
        assertEquals(Duration.ofHours(1).plus(d.query()), d.forRequest(new Request.WaitContainer("c", Long.MAX_VALUE)));
        // a stop waits out its grace (the agent's, resolved as the agent resolves it) before its action
        assertEquals(d.action(), d.forRequest(new Request.ShutdownContainer("c", 0)));
        assertEquals(d.action().plus(Duration.ofSeconds(30)), d.forRequest(new Request.ShutdownContainer("c", 30_000)));
        assertEquals(d.action().plus(Request.DEFAULT_GRACE), d.forRequest(new Request.ShutdownSandbox(-1)));
        assertEquals(d.action().plus(Request.LONGEST_GRACE), d.forRequest(new Request.ShutdownContainer("c", Long.MAX_VALUE)));
        AgentDeadlines tight = AgentDeadlines.fromEnvironment(Map.of(AgentDeadlines.QUERY_ENV, "5", AgentDeadlines.ACTION_ENV, "10",
                AgentDeadlines.LONGEST_ENV, "30"));
        assertEquals(Duration.ofSeconds(30), tight.forRequest(new Request.WaitContainer("c", 600_000)));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> AgentDeadlines.fromEnvironment(Map.of(AgentDeadlines.ACTION_ENV, "forever")));
        assertTrue(bad.getMessage().contains(AgentDeadlines.ACTION_ENV), bad.getMessage());
    }
}
