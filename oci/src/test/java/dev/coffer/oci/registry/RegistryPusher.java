package dev.coffer.oci.registry;

import dev.coffer.oci.layout.ImageBuilder;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A minimal push client for tests: monolithic blob uploads (POST then PUT with the digest) and
 * manifest PUTs, as the distribution spec describes them.
 */
final class RegistryPusher implements AutoCloseable {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;
    private final String authorization;

    RegistryPusher(URI base, String authorization) {
        this.base = base;
        this.authorization = authorization;
    }

    void push(String repository, String tag, ImageBuilder.BuiltImage image) throws Exception {
        for (ImageBuilder.Blob b : image.blobs()) {
            if (b == image.manifest()) continue;
            pushBlob(repository, b);
        }
        pushManifest(repository, tag, image.manifest());
    }

    void pushBlob(String repository, ImageBuilder.Blob blob) throws Exception {
        HttpResponse<String> start = send(HttpRequest.newBuilder(base.resolve(repository + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        expect(start, 202, "start upload");
        URI location = base.resolve(start.headers().firstValue("Location").orElseThrow());
        String sep = location.getQuery() == null ? "?" : "&";
        URI put = URI.create(location + sep + "digest=" + blob.digest());
        HttpResponse<String> done = send(HttpRequest.newBuilder(put)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(blob.bytes())));
        expect(done, 201, "upload blob " + blob.digest());
    }

    void pushManifest(String repository, String reference, ImageBuilder.Blob manifest) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(base.resolve(repository + "/manifests/" + reference))
                .header("Content-Type", manifest.mediaType())
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest.bytes())));
        expect(r, 201, "put manifest " + reference);
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws IOException, InterruptedException {
        if (authorization != null) b.header("Authorization", authorization);
        return http.send(b.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void expect(HttpResponse<String> r, int status, String what) {
        if (r.statusCode() != status) {
            throw new IllegalStateException(what + ": expected " + status + ", got " + r.statusCode() + " " + r.body());
        }
    }

    @Override
    public void close() {
        http.close();
    }
}
