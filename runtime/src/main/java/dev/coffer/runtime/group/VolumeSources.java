package dev.coffer.runtime.group;

import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.runtime.sandbox.SandboxBackend;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Finds the image of each encrypted volume before anything is started: a file named relative to
 * the spec's directory, or an http(s) URL. A URL's image is fetched on the host with range
 * requests (4 MiB at a time, so a large image never needs one long response and an interrupted
 * fetch fails on one chunk) into {@code $COFFER_HOME/volume-cache/}, keyed by the URL and the
 * server's ETag/Last-Modified, and attached read-only. The host is untrusted anyway: it only ever
 * holds ciphertext, which the sandbox opens with the key the vault releases to it alone. The whole
 * image is fetched before launch (not lazily) because neither the process sandbox's loop device
 * nor a microVM's virtio disk can fault blocks in from HTTP.
 */
final class VolumeSources {
    static final String CACHE_DIR = "volume-cache";
    static final long CHUNK = 4L << 20;
    /** Larger images are refused: a host cache is no place for them, and it bounds what a hostile URL can fill. */
    static final long MAX_REMOTE_BYTES = 64L << 30;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private VolumeSources() {}

    /** The images of the spec's encrypted volumes, in spec order; nothing is changed when one is missing. */
    static List<SandboxBackend.VolumeDisk> resolve(GroupSpec spec, Path specDir, Path home) throws GroupException {
        List<SandboxBackend.VolumeDisk> out = new ArrayList<>();
        for (GroupSpec.VolumeSpec v : spec.volumes()) {
            GroupSpec.Encrypted e = v.encrypted();
            if (e == null) continue;
            Path file;
            if (e.remote()) {
                try {
                    file = fetch(URI.create(e.source()), home.resolve(CACHE_DIR));
                } catch (IOException ex) {
                    throw new GroupException("encrypted volume " + v.name() + ": cannot fetch " + e.source() + ": " + ex.getMessage()
                            + "; check the URL and that the server answers range requests");
                }
            } else {
                file = specDir.resolve(e.source()).toAbsolutePath().normalize();
                if (!Files.isRegularFile(file)) {
                    throw new GroupException("encrypted volume " + v.name() + ": expected its image at " + file + " (source: "
                            + e.source() + ", relative to the spec), found " + (Files.exists(file) ? "something else" : "nothing")
                            + "; create it with `coffer volume create " + e.source() + " --size 64M --key " + e.key() + " ...`");
                }
                if (!e.readOnly() && !Files.isWritable(file)) {
                    throw new GroupException("encrypted volume " + v.name() + ": expected " + file + " to be writable (the spec"
                            + " opens it read-write), found it read-only; fix its permissions or set readOnly: true");
                }
            }
            out.add(new SandboxBackend.VolumeDisk(v.name(), file, e.readOnly()));
        }
        return out;
    }

    /** The cached copy of {@code url}, fetched again when the server's validator changed. */
    static Path fetch(URI url, Path cacheDir) throws IOException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NORMAL).build();
        HttpResponse<Void> head = send(http, HttpRequest.newBuilder(url).timeout(TIMEOUT)
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        if (head.statusCode() != 200) {
            throw new IOException("HEAD answered HTTP " + head.statusCode() + ", expected 200");
        }
        long size = head.headers().firstValueAsLong("Content-Length").orElse(-1);
        if (size <= 0 || size > MAX_REMOTE_BYTES) {
            throw new IOException("expected a Content-Length of 1 byte to " + (MAX_REMOTE_BYTES >> 30) + " GiB, found "
                    + (size < 0 ? "none" : size + " bytes"));
        }
        if (!head.headers().allValues("Accept-Ranges").contains("bytes")) {
            throw new IOException("expected Accept-Ranges: bytes, found " + head.headers().firstValue("Accept-Ranges").orElse("none"));
        }
        String validator = head.headers().firstValue("ETag").or(() -> head.headers().firstValue("Last-Modified")).orElse("");
        String id = sha256(url + "\n" + size + "\n" + validator);
        Files.createDirectories(cacheDir);
        Path cached = cacheDir.resolve(id + ".img");
        // without a validator a changed image could not be told apart: fetch it again every time
        if (!validator.isEmpty() && Files.isRegularFile(cached) && Files.size(cached) == size) return cached;
        Path partial = Files.createTempFile(cacheDir, id, ".part");
        try {
            try (FileChannel out = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                for (long offset = 0; offset < size; offset += CHUNK) {
                    long end = Math.min(size, offset + CHUNK) - 1;
                    chunk(http, url, offset, end, size, out);
                }
            }
            Files.move(partial, cached, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return cached;
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    private static void chunk(HttpClient http, URI url, long offset, long end, long size, FileChannel out) throws IOException {
        HttpResponse<InputStream> r = send(http, HttpRequest.newBuilder(url).timeout(TIMEOUT)
                .header("Range", "bytes=" + offset + "-" + end).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            if (r.statusCode() != 206) {
                throw new IOException("range " + offset + "-" + end + " answered HTTP " + r.statusCode() + ", expected 206");
            }
            Optional<String> range = r.headers().firstValue("Content-Range");
            String expected = "bytes " + offset + "-" + end + "/" + size;
            if (range.isEmpty() || !range.get().equals(expected)) {
                throw new IOException("expected Content-Range: " + expected + ", found " + range.orElse("none"));
            }
            long want = end - offset + 1;
            long got = 0;
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf, 0, (int) Math.min(buf.length, want - got + 1))) > 0) {
                if (got + n > want) throw new IOException("range " + offset + "-" + end + " sent more than " + want + " bytes");
                out.write(java.nio.ByteBuffer.wrap(buf, 0, n), offset + got);
                got += n;
            }
            if (got != want) {
                throw new IOException("range " + offset + "-" + end + " ended after " + got + " of " + want + " bytes");
            }
        }
    }

    private static <T> HttpResponse<T> send(HttpClient http, HttpRequest request, HttpResponse.BodyHandler<T> handler)
            throws IOException {
        try {
            return http.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
