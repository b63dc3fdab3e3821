package dev.coffer.oci.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.manifest.ConfigFile;
import dev.coffer.oci.manifest.Descriptor;
import dev.coffer.oci.manifest.ImageIndex;
import dev.coffer.oci.manifest.ImageManifest;
import dev.coffer.oci.manifest.Json;
import dev.coffer.oci.manifest.ManifestDocument;
import dev.coffer.oci.manifest.MediaTypes;
import dev.coffer.oci.manifest.Platform;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.store.BlobStore;
import dev.coffer.oci.store.BlobTamperedException;
import dev.coffer.oci.store.ProgressListener;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * A client of the OCI distribution API that pulls one image into a {@link BlobStore}: manifest
 * (an index resolves to linux/amd64), config and layers, each verified against its digest.
 * Handles the anonymous and basic-credential bearer-token flow and plain Basic auth, retries
 * transient failures (connection errors, 429, 5xx) with bounded exponential backoff, and
 * resumes interrupted blob downloads with HTTP Range requests.
 */
public final class RegistryClient implements AutoCloseable {
    /**
     * @param insecure       use plain http for every registry (127.0.0.1/localhost always use it)
     * @param maxAttempts    tries per request before giving up on transient failures
     * @param initialBackoff wait after the first failure; doubles on each further one
     * @param requestTimeout longest wait for response headers, and for each piece of a body
     */
    public record Options(boolean insecure, int maxAttempts, Duration initialBackoff, Duration connectTimeout,
                          Duration requestTimeout) {
        public Options {
            if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts must be at least 1");
        }

        public static Options defaults() {
            return new Options(false, 5, Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(60));
        }

        public Options withInsecure(boolean value) {
            return new Options(value, maxAttempts, initialBackoff, connectTimeout, requestTimeout);
        }

        public Options withRetries(int attempts, Duration backoff) {
            return new Options(insecure, attempts, backoff, connectTimeout, requestTimeout);
        }

        public Options withRequestTimeout(Duration timeout) {
            return new Options(insecure, maxAttempts, initialBackoff, connectTimeout, timeout);
        }
    }

    static final String ACCEPT_MANIFESTS = String.join(", ", MediaTypes.OCI_MANIFEST, MediaTypes.OCI_INDEX,
            MediaTypes.DOCKER_MANIFEST, MediaTypes.DOCKER_MANIFEST_LIST);
    private static final int MAX_MANIFEST = 4 * 1024 * 1024;
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

    private final Options options;
    private final HttpClient http;

    public RegistryClient(Options options) {
        this.options = options;
        // Redirects are followed by hand: credentials must not travel to the (other) host a
        // blob redirect points at.
        this.http = HttpClient.newBuilder()
                .connectTimeout(options.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    /**
     * Pulls {@code ref} into {@code blobs}.
     *
     * @param added receives the digests of blobs this pull stored that were not there before,
     *              so a caller can remove them if the pull fails later
     * @return the digest of the single-platform manifest
     */
    public Digest pull(ImageReference ref, RegistryCredentials creds, BlobStore blobs, ProgressListener progress,
                       Set<Digest> added) throws IOException {
        Session s = new Session(this, ref, creds == null ? RegistryCredentials.anonymous() : creds);
        if (progress == null) progress = ProgressListener.NONE;
        String phase = "pulling " + ref.familiar();

        Fetched top = s.manifest(ref.manifestSelector(), ref.digest());
        ManifestDocument doc = ManifestDocument.parse(top.bytes(), top.contentType(), "manifest of " + ref);
        Digest manifestDigest = top.digest();
        byte[] manifestBytes = top.bytes();
        if (doc instanceof ImageIndex index) {
            Descriptor pick = index.select(Platform.LINUX_AMD64, "image index of " + ref);
            Fetched platform = s.manifest(pick.digest().toString(), pick.digest());
            doc = ManifestDocument.parse(platform.bytes(), platform.contentType(),
                    "manifest of " + ref + " for " + Platform.LINUX_AMD64);
            if (!(doc instanceof ImageManifest)) {
                throw new OciException("the " + Platform.LINUX_AMD64 + " entry of " + ref
                        + " is itself an index; expected a manifest: the image in the registry is malformed");
            }
            manifestDigest = platform.digest();
            manifestBytes = platform.bytes();
        }
        ImageManifest manifest = (ImageManifest) doc;

        long total = manifest.config().size() + manifest.layers().stream().mapToLong(Descriptor::size).sum();
        Transfer transfer = new Transfer(progress, phase, total);
        progress.update(phase, 0, total);

        fetchBlob(s, blobs, manifest.config(), added, transfer);
        ConfigFile config = ConfigFile.parse(blobs.readVerified(manifest.config().digest(), MAX_MANIFEST),
                "config of " + ref);
        if (config.diffIds().size() != manifest.layers().size()) {
            throw new OciException("image " + ref + " has " + manifest.layers().size() + " layers but its config lists "
                    + config.diffIds().size() + " diff ids; the image in the registry is malformed");
        }
        for (Descriptor layer : manifest.layers()) {
            fetchBlob(s, blobs, layer, added, transfer);
        }
        boolean existed = blobs.has(manifestDigest);
        blobs.put(manifestBytes, manifestDigest, "manifest of " + ref);
        if (!existed) added.add(manifestDigest);
        progress.update(phase, total, total);
        return manifestDigest;
    }

    /** Bytes done across all blobs of one pull, for the progress listener. */
    static final class Transfer {
        final ProgressListener listener;
        final String phase;
        final long total;
        long done;

        Transfer(ProgressListener listener, String phase, long total) {
            this.listener = listener;
            this.phase = phase;
            this.total = total;
        }

        void report(long current) {
            listener.update(phase, current, total);
        }
    }

    private static void fetchBlob(Session s, BlobStore blobs, Descriptor d, Set<Digest> added, Transfer transfer)
            throws IOException {
        // A blob already stored (shared base layer) is reused only if it still verifies.
        if (blobs.has(d.digest()) && blobs.size(d.digest()) == d.size() && blobs.verify(d.digest())) {
            transfer.done += d.size();
            transfer.report(transfer.done);
            return;
        }
        s.downloadBlob(d, blobs, transfer);
        added.add(d.digest());
    }

    Options options() {
        return options;
    }

    HttpClient http() {
        return http;
    }

    /** Sleeps before retry number {@code attempt} (1-based): initial, 2x, 4x, ... capped. */
    void backoff(int attempt) throws IOException {
        backoff(attempt, 0);
    }

    /** As {@link #backoff(int)}, but at least {@code atLeastMillis} (a server's Retry-After), still capped. */
    void backoff(int attempt, long atLeastMillis) throws IOException {
        long millis = options.initialBackoff().toMillis() << Math.min(attempt - 1, 16);
        millis = Math.min(Math.max(millis, atLeastMillis), MAX_BACKOFF.toMillis());
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting to retry a registry request");
        }
    }

    static boolean isLocal(String registry) {
        String host = registry;
        if (host.startsWith("[")) {
            host = host.substring(1, Math.max(1, host.indexOf(']')));
        } else if (host.indexOf(':') >= 0) {
            host = host.substring(0, host.indexOf(':'));
        }
        host = host.toLowerCase(Locale.ROOT);
        return host.equals("localhost") || host.endsWith(".localhost") || host.equals("::1")
                || host.startsWith("127.");
    }

    @Override
    public void close() {
        http.close();
    }

    record Fetched(byte[] bytes, String contentType, Digest digest) {}

    static String urlEncode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String errorSummary(byte[] body) {
        if (body == null || body.length == 0) return "";
        try {
            JsonNode root = Json.MAPPER.readTree(body);
            JsonNode first = root.path("errors").path(0);
            if (first.isObject()) {
                String code = first.path("code").asText("");
                String message = first.path("message").asText("");
                return (code + (message.isEmpty() ? "" : " " + message)).strip();
            }
        } catch (IOException notJson) {
            // registries and proxies sometimes answer with HTML; the status says enough
        }
        return "";
    }

    /** Retry-After in seconds (the HTTP-date form is rare for registries and treated as absent). */
    static long retryAfterMillis(HttpResponse<?> r) {
        try {
            return header(r, "Retry-After").map(v -> Long.parseLong(v.strip()) * 1000).orElse(0L);
        } catch (NumberFormatException dateForm) {
            return 0;
        }
    }

    static Optional<String> header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name);
    }

    static boolean isTransient(int status) {
        return status == 429 || status == 502 || status == 503 || status == 504 || status == 500;
    }

    static InputStream limited(InputStream in, long max) {
        return new java.io.FilterInputStream(in) {
            long left = max;

            @Override
            public int read() throws IOException {
                if (left <= 0) throw new IOException("more than " + max + " bytes");
                int b = in.read();
                if (b >= 0) left--;
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    if (in.read() < 0) return -1;
                    throw new IOException("more than " + max + " bytes");
                }
                int n = in.read(b, off, (int) Math.min(len, left));
                if (n > 0) left -= n;
                return n;
            }
        };
    }

    static HttpRequest.Builder request(URI uri, Duration timeout) {
        return HttpRequest.newBuilder(uri).timeout(timeout).header("User-Agent", "coffer/0.1");
    }

    static void checkDigestHeader(HttpResponse<?> r, Digest actual, String what) throws BlobTamperedException {
        Optional<String> h = header(r, "Docker-Content-Digest");
        if (h.isPresent() && h.get().startsWith("sha256:") && !h.get().equals(actual.toString())) {
            throw new BlobTamperedException(what + ": the registry says its digest is " + h.get()
                    + " but the content received hashes to " + actual + "; the registry or a proxy serves corrupted"
                    + " data, nothing was stored");
        }
    }
}
