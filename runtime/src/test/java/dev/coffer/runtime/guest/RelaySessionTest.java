package dev.coffer.runtime.guest;

import dev.coffer.agent.protocol.Frames;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The in-band sessions of the microVM's serial relay: the guest's stream splitter on every way
 * the bytes can arrive (split anywhere, sessions back to back without an end-of-file between
 * them, garbage, a host that never said hello), and the host's wait for its own WELCOME past the
 * leftovers of an earlier session.
 */
class RelaySessionTest {
    /** What the relay would do, recorded: "open:NONCE", "frame:BYTES" per forwarded run, "lost". */
    private static final class Recorder implements RelaySession.HostStream.Sink {
        final List<String> events = new ArrayList<>();
        final ByteArrayOutputStream forwarded = new ByteArrayOutputStream();

        @Override
        public void open(byte[] nonce) {
            events.add("open:" + HexFormat.of().formatHex(nonce));
        }

        @Override
        public void forward(byte[] b, int off, int len) {
            forwarded.write(b, off, len);
            events.add("frame:" + len);
        }

        @Override
        public void lost(String why) {
            events.add("lost");
        }
    }

    private static byte[] frame(String body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, body.getBytes());
        return out.toByteArray();
    }

    private static byte[] nonce(int fill) {
        byte[] n = new byte[RelaySession.NONCE_BYTES];
        Arrays.fill(n, (byte) fill);
        return n;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    @Test
    void aHelloOpensASessionAndFramesFollowItWhateverTheReadBoundaries() throws IOException {
        byte[] stream = concat(RelaySession.marker(RelaySession.HELLO, nonce(1)), frame("{\"a\":1}"), frame("{\"b\":22}"),
                RelaySession.marker(RelaySession.HELLO, nonce(2)), frame("{\"c\":333}"));
        // every split of the stream into two reads, and one byte per read
        for (int cut = 0; cut <= stream.length; cut++) {
            Recorder r = new Recorder();
            RelaySession.HostStream s = new RelaySession.HostStream();
            s.feed(stream, 0, cut, r);
            s.feed(stream, cut, stream.length - cut, r);
            assertEquals(List.of("open:" + "01".repeat(16), "open:" + "02".repeat(16)),
                    r.events.stream().filter(e -> e.startsWith("open")).toList(), "cut at " + cut);
            assertArrayEquals(concat(frame("{\"a\":1}"), frame("{\"b\":22}"), frame("{\"c\":333}")), r.forwarded.toByteArray());
        }
        Recorder r = new Recorder();
        RelaySession.HostStream s = new RelaySession.HostStream();
        for (byte b : stream) s.feed(new byte[] {b}, 0, 1, r);
        assertEquals(2, r.events.stream().filter(e -> e.startsWith("open")).count());
        assertEquals(stream.length - 2 * (4 + RelaySession.NONCE_BYTES), r.forwarded.size());
    }

    @Test
    void aSecondHelloInsideWhatLooksLikeAFrameBodyIsForwardedAsBody() throws IOException {
        // the relay follows frame lengths: bytes inside a body are the body's, even if they spell HELLO
        byte[] body = concat(RelaySession.marker(RelaySession.HELLO, nonce(9)));
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        Frames.write(f, body);
        Recorder r = new Recorder();
        new RelaySession.HostStream().feed(concat(RelaySession.marker(RelaySession.HELLO, nonce(1)), f.toByteArray()), 0,
                4 + 16 + f.size(), r);
        assertEquals(1, r.events.stream().filter(e -> e.startsWith("open")).count());
        assertArrayEquals(f.toByteArray(), r.forwarded.toByteArray());
    }

    @Test
    void bytesThatAreNeitherFrameNorHelloAreDroppedUntilTheNextHello() throws IOException {
        byte[] garbage = ByteBuffer.allocate(8).putInt(Frames.MAX_FRAME_BYTES + 1).putInt(0x01020304).array();
        byte[] stream = concat(RelaySession.marker(RelaySession.HELLO, nonce(1)), garbage, frame("{\"lost\":1}"),
                RelaySession.marker(RelaySession.HELLO, nonce(2)), frame("{\"kept\":1}"));
        Recorder r = new Recorder();
        new RelaySession.HostStream().feed(stream, 0, stream.length, r);
        assertEquals("open:" + "01".repeat(16), r.events.get(0));
        assertEquals("lost", r.events.get(1));
        assertEquals("open:" + "02".repeat(16), r.events.get(2));
        assertArrayEquals(frame("{\"kept\":1}"), r.forwarded.toByteArray());
    }

    @Test
    void aHostThatLeftInsideAFrameLeavesNothingForTheNext() throws IOException {
        byte[] whole = frame("{\"unfinished\":true}");
        Recorder r = new Recorder();
        RelaySession.HostStream s = new RelaySession.HostStream();
        byte[] first = concat(RelaySession.marker(RelaySession.HELLO, nonce(1)), Arrays.copyOf(whole, 10));
        s.feed(first, 0, first.length, r);
        s.reset(); // end-of-file: the host left
        byte[] next = concat(RelaySession.marker(RelaySession.HELLO, nonce(2)), frame("{\"x\":1}"));
        s.feed(next, 0, next.length, r);
        assertEquals(List.of("open:" + "01".repeat(16), "frame:4", "frame:6", "open:" + "02".repeat(16), "frame:4", "frame:7"),
                r.events);
    }

    @Test
    void theHostSkipsLeftoversAndStopsRightAfterItsOwnWelcome() throws IOException {
        byte[] mine = nonce(7);
        byte[] after = frame("{\"id\":1}");
        byte[] fromGuest = concat(Arrays.copyOfRange(frame("{\"stale\":\"answer\"}"), 3, 20),
                RelaySession.marker(RelaySession.WELCOME, nonce(6)), // another host's session
                RelaySession.marker(RelaySession.WELCOME, mine), after);
        ByteArrayInputStream in = new ByteArrayInputStream(fromGuest);
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        RelaySession.awaitWelcome(in, mine);
        assertArrayEquals(after, in.readAllBytes(), "nothing after the WELCOME is consumed");

        // the opening writes HELLO with a fresh nonce and waits for that nonce
        IOException closed = assertThrows(IOException.class,
                () -> RelaySession.hostOpening().open(new ByteArrayInputStream(fromGuest), sent));
        assertTrue(closed.getMessage().contains("found the connection closed"), closed.getMessage());
        byte[] hello = sent.toByteArray();
        assertEquals(4 + RelaySession.NONCE_BYTES, hello.length);
        assertEquals(RelaySession.HELLO, ByteBuffer.wrap(hello).getInt());
    }

    @Test
    void theHostGivesUpOnAChannelThatNeverWelcomesIt() {
        byte[] noise = new byte[(int) RelaySession.MAX_SKIPPED_BYTES + 100];
        IOException e = assertThrows(IOException.class,
                () -> RelaySession.awaitWelcome(new ByteArrayInputStream(noise), nonce(1)));
        assertTrue(e.getMessage().contains("rebuild the guest"), e.getMessage());
    }
}
