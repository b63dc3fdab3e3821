package dev.coffer.runtime.group;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.runtime.sandbox.SandboxBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Encrypted volume images: files next to the spec, and URLs fetched with range requests into the cache. */
class VolumeSourcesTest {
    @TempDir
    Path tmp;
    HttpServer server;
    final List<String> ranges = new ArrayList<>();
    final byte[] image = new byte[(int) (2 * VolumeSources.CHUNK + 12345)];

    @AfterEach
    void stop() {
        if (server != null) server.stop(0);
    }

    /** Serves {@link #image}; {@code contentRange} may lie about the range sent. */
    URI serve(boolean acceptRanges, Function<String, String> contentRange) throws IOException {
        new Random(7).nextBytes(image);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/data.img", ex -> handle(ex, acceptRanges, contentRange));
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/data.img");
    }

    private void handle(HttpExchange ex, boolean acceptRanges, Function<String, String> contentRange) throws IOException {
        if (acceptRanges) ex.getResponseHeaders().add("Accept-Ranges", "bytes");
        ex.getResponseHeaders().add("ETag", "\"v1\"");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Long.toString(image.length));
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        synchronized (ranges) {
            ranges.add(range);
        }
        String[] se = range.substring("bytes=".length()).split("-");
        int start = Integer.parseInt(se[0]), end = Integer.parseInt(se[1]);
        ex.getResponseHeaders().add("Content-Range", contentRange.apply("bytes " + start + "-" + end + "/" + image.length));
        ex.sendResponseHeaders(206, end - start + 1);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(image, start, end - start + 1);
        }
    }

    @Test
    void urlImageIsFetchedInRangesAndReusedWhileItsETagStays() throws Exception {
        URI url = serve(true, r -> r);
        Path cache = tmp.resolve("cache");
        Path file = VolumeSources.fetch(url, cache);
        assertArrayEquals(image, Files.readAllBytes(file));
        assertEquals(List.of("bytes=0-4194303", "bytes=4194304-8388607", "bytes=8388608-" + (image.length - 1)), ranges);
        Path again = VolumeSources.fetch(url, cache);
        assertEquals(file, again);
        assertEquals(3, ranges.size(), "a cached image with the same ETag is not fetched again");
        try (var listing = Files.list(cache)) {
            assertEquals(1, listing.count(), "no partial files are left");
        }
    }

    @Test
    void serversWithoutRangesOrWithWrongRangesAreRefusedAndLeaveNothing() throws Exception {
        URI noRanges = serve(false, r -> r);
        IOException e = assertThrows(IOException.class, () -> VolumeSources.fetch(noRanges, tmp.resolve("c1")));
        assertTrue(e.getMessage().contains("expected Accept-Ranges: bytes"), e.getMessage());
        server.stop(0);

        URI lying = serve(true, r -> r.replace("bytes 0-", "bytes 1-"));
        Path cache = tmp.resolve("c2");
        IOException wrong = assertThrows(IOException.class, () -> VolumeSources.fetch(lying, cache));
        assertTrue(wrong.getMessage().contains("expected Content-Range: bytes 0-4194303/"), wrong.getMessage());
        try (var listing = Files.list(cache)) {
            assertEquals(0, listing.count(), "a failed fetch leaves no cached or partial file");
        }
    }

    @Test
    void fileSourcesResolveAgainstTheSpecDirectory() throws Exception {
        Files.write(tmp.resolve("data.img"), new byte[]{1});
        GroupSpec spec = GroupSpecParser.parse("""
                name: g
                containers: [{name: app, image: a:1, volumeMounts: [{name: data, mountPath: /data}]}]
                volumes:
                  - {name: scratch, emptyDir: {}}
                  - {name: data, encrypted: {source: data.img, key: k, authority: "http://127.0.0.1:8400", vault: "http://127.0.0.1:8400", headerDigest: %s}}
                """.formatted("ab".repeat(32)), "g.yaml");
        List<SandboxBackend.VolumeDisk> disks = VolumeSources.resolve(spec, tmp, tmp.resolve("home"));
        assertEquals(List.of(new SandboxBackend.VolumeDisk("data", tmp.resolve("data.img"), false)), disks);

        GroupException missing = assertThrows(GroupException.class,
                () -> VolumeSources.resolve(spec, tmp.resolve("elsewhere"), tmp.resolve("home")));
        assertTrue(missing.getMessage().contains("expected its image at " + tmp.resolve("elsewhere").resolve("data.img")),
                missing.getMessage());
        assertFalse(Files.exists(tmp.resolve("home")), "resolving changes nothing");
    }
}
