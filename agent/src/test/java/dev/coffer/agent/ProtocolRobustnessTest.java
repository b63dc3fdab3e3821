package dev.coffer.agent;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.FrameException;
import dev.coffer.agent.protocol.Frames;
import dev.coffer.agent.protocol.Protocol;
import dev.coffer.agent.protocol.ProtocolException;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.RequestEnvelope;
import dev.coffer.agent.protocol.Response;
import dev.coffer.agent.protocol.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile and garbage input: error replies, no state change, the agent keeps running. */
class ProtocolRobustnessTest {
    @TempDir
    Path dir;
    AgentProcess agent;

    @AfterEach
    void stop() throws Exception {
        if (agent != null && agent.process.isAlive()) {
            try (AgentClient c = agent.client()) {
                c.exchange(new Request.ShutdownSandbox(1000));
            }
            agent.waitExit();
        }
    }

    @Test
    void framesRoundTripAndRejectBadLengths() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, "{}".getBytes());
        assertArrayEquals("{}".getBytes(), Frames.read(new ByteArrayInputStream(out.toByteArray())));
        assertNull(Frames.read(new ByteArrayInputStream(new byte[0])));
        FrameException oversize = assertThrows(FrameException.class,
                () -> Frames.read(new ByteArrayInputStream(new byte[] {0x7f, 0, 0, 0})));
        assertTrue(oversize.getMessage().contains("frame length"), oversize.getMessage());
        assertThrows(FrameException.class, () -> Frames.read(new ByteArrayInputStream(new byte[] {0, 0, 0, 0})));
        FrameException truncated = assertThrows(FrameException.class,
                () -> Frames.read(new ByteArrayInputStream(new byte[] {0, 0, 0, 10, '{'})));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        assertThrows(FrameException.class, () -> Frames.read(new ByteArrayInputStream(new byte[] {0, 0})));
    }

    @Test
    void decodingNamesWhatIsWrong() throws Exception {
        RequestEnvelope env = Protocol.decodeRequest(Protocol.encode(new RequestEnvelope(1, 9,
                new Request.MountOverlay("c", List.of("/a"), "/b"))));
        assertEquals(new Request.MountOverlay("c", List.of("/a"), "/b"), env.request());
        assertEquals("mount_overlay", env.request().enforcementPoint());
        assertCode(Response.Failure.BAD_JSON, "{not json");
        assertCode(Response.Failure.BAD_JSON, "[1,2]");
        assertCode(Response.Failure.UNSUPPORTED_VERSION, "{\"version\":2,\"id\":1,\"request\":{\"type\":\"ping\"}}");
        assertCode(Response.Failure.UNSUPPORTED_VERSION, "{\"id\":1,\"request\":{\"type\":\"ping\"}}");
        assertCode(Response.Failure.INVALID_REQUEST, "{\"version\":1,\"id\":1,\"request\":{\"type\":\"format_disk\"}}");
        assertCode(Response.Failure.INVALID_REQUEST, "{\"version\":1,\"id\":1,\"request\":{\"type\":\"ping\",\"extra\":1}}");
        assertCode(Response.Failure.INVALID_REQUEST, "{\"version\":1,\"id\":1}");
        ProtocolException e = assertThrows(ProtocolException.class, () -> Protocol.decodeRequest(
                "{\"version\":7,\"id\":42,\"request\":{\"type\":\"ping\"}}".getBytes()));
        assertEquals(42, e.id());
        assertTrue(e.getMessage().contains("expected protocol version 1, found 7"), e.getMessage());
    }

    private static void assertCode(String code, String json) {
        ProtocolException e = assertThrows(ProtocolException.class, () -> Protocol.decodeRequest(json.getBytes(StandardCharsets.UTF_8)));
        assertEquals(code, e.code(), e.getMessage());
    }

    @Test
    void agentSurvivesGarbageOnTheSocket() throws Exception {
        agent = AgentProcess.start(dir, "junk", "--policy", "allow-all");
        // bad JSON and unknown versions: error reply on the same connection, which stays usable
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(agent.socket));
            OutputStream out = Channels.newOutputStream(ch);
            InputStream in = Channels.newInputStream(ch);
            Frames.write(out, "\u0000\u0001garbage".getBytes(StandardCharsets.ISO_8859_1));
            Response r = Protocol.decodeResponse(Frames.read(in));
            assertEquals(Response.Failure.BAD_JSON, r.error().code());
            Frames.write(out, "{\"version\":99,\"id\":5,\"request\":{\"type\":\"ping\"}}".getBytes());
            r = Protocol.decodeResponse(Frames.read(in));
            assertEquals(Response.Failure.UNSUPPORTED_VERSION, r.error().code());
            assertEquals(5, r.id());
            Frames.write(out, Protocol.encode(new RequestEnvelope(1, 6, new Request.Ping())));
            r = Protocol.decodeResponse(Frames.read(in));
            assertInstanceOf(Result.Done.class, r.result());
        }
        // an oversize length: error reply, then the connection is closed
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(agent.socket));
            OutputStream out = Channels.newOutputStream(ch);
            out.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
            out.flush();
            InputStream in = Channels.newInputStream(ch);
            Response r = Protocol.decodeResponse(Frames.read(in));
            assertEquals(Response.Failure.BAD_FRAME, r.error().code());
            assertNull(Frames.read(in));
        }
        // a truncated frame followed by the peer hanging up
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(agent.socket));
            OutputStream out = Channels.newOutputStream(ch);
            out.write(new byte[] {0, 0, 1, 0, '{', '"'});
            out.flush();
        }
        try (AgentClient c = agent.client()) {
            Result.Properties p = c.call(new Request.GetProperties(), Result.Properties.class);
            assertEquals(List.of(), p.containers(), "garbage changed no state");
        }
        assertTrue(agent.process.isAlive());
    }

    @Test
    void agentRefusesToStartWithoutAnExplicitPolicyChoice() throws Exception {
        agent = AgentProcess.start(dir, "nopolicy");
        assertEquals(2, agent.waitExit());
        assertTrue(agent.output().contains("does not run containers without a policy"), agent.output());
    }

    @Test
    void missingRuntimeBinaryIsAPreciseStartupError() throws Exception {
        agent = AgentProcess.start(dir, "noruntime", "--policy", "allow-all", "--runtime", "/nonexistent/runc");
        assertEquals(3, agent.waitExit());
        String out = agent.output();
        assertTrue(out.contains("expected an OCI runtime") && out.contains("/nonexistent/runc is not an executable file"), out);
    }
}
