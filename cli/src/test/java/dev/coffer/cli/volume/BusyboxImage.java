package dev.coffer.cli.volume;

import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The volume tests' image: one layer of the host's static busybox with the applets a test's script calls. */
final class BusyboxImage {
    private BusyboxImage() {}

    /** Builds the image and imports it into {@code home}'s store as {@code reference}. */
    static void importInto(Path home, String reference, List<String> applets) throws Exception {
        TarLayer layer = new TarLayer().dir("bin", 0755).file("bin/busybox", Path.of("/bin/busybox"), 0755).dir("tmp", 01777);
        for (String applet : applets) layer.symlink("bin/" + applet, "busybox");
        ImageConfig config = new ImageConfig(List.of(), List.of("/bin/sh"), List.of("PATH=/bin"), "/", "", List.of(),
                Map.of(), "linux", "amd64");
        Path layout = new ImageBuilder().layer(layer).config(config).writeLayout(home.resolve("layout"), "1");
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(layout, ImageReference.parse(reference), null);
        }
    }
}
