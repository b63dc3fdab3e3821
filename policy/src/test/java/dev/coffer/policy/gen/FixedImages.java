package dev.coffer.policy.gen;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Image data for generator unit tests: the configs and layer hashes an image store would
 * report. The end-to-end test ({@code StoreImageSourceTest}) covers real images and real hashing.
 */
final class FixedImages implements ImageSource {
    static final String BASE = "a".repeat(64);
    static final String APP = "b".repeat(64);
    static final String SIDE = "c".repeat(64);

    private final Map<String, ResolvedImage> images;

    FixedImages(Map<String, ResolvedImage> images) {
        this.images = images;
    }

    static FixedImages standard() {
        return new FixedImages(Map.of(
                "registry.example/web:1.0", new ResolvedImage("registry.example/web:1.0", List.of(BASE, APP),
                        List.of("/docker-entrypoint.sh"), List.of("httpd", "-f"),
                        List.of("PATH=/usr/local/bin:/usr/bin:/bin", "MODE=dev", "EMPTY="), "/srv", "1000:1000"),
                "registry.example/side:2", new ResolvedImage("registry.example/side:2", List.of(BASE, SIDE),
                        List.of(), List.of("/bin/sleep", "3600"), List.of("PATH=/bin"), "", "")));
    }

    @Override
    public ResolvedImage resolve(String imageRef) throws IOException {
        ResolvedImage image = images.get(imageRef);
        if (image == null) {
            throw new IOException("image " + imageRef + " not found");
        }
        return image;
    }
}
