package dev.coffer.runtime.group;

import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Images the runtime tests run: busybox-static in one layer, a web root and users in another. */
final class TestImages {
    static final String BUSYBOX = "coffer.test/busybox:1";
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "nc", "httpd", "wget", "ls", "id", "env",
            "pwd", "touch", "test", "true", "false", "kill", "hostname", "ps", "grep", "mkdir");

    private TestImages() {}

    static void importBusybox(Path home, Path work) throws Exception {
        Path busybox = Files.isExecutable(Path.of("/bin/busybox")) ? Path.of("/bin/busybox") : Path.of("/usr/bin/busybox");
        TarLayer base = new TarLayer().dir("bin").file("bin/busybox", busybox, 0755);
        for (String a : APPLETS) base.symlink("bin/" + a, "busybox");
        base.dir("proc").dir("sys").dir("dev").dir("tmp", 01777).dir("etc");
        TarLayer content = new TarLayer()
                .file("etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n", 0644)
                .file("etc/group", "root:x:0:\nnogroup:x:65534:\n", 0644)
                .dir("www").file("www/index.html", "hello from the server\n", 0644);
        Path layout = new ImageBuilder().layer(base).layer(content)
                .config(ImageConfig.of(List.of("sh", "-c", "echo image default cmd")).withWorkingDir("/www"))
                .writeLayout(Files.createDirectories(work.resolve("layout")), BUSYBOX);
        try (ImageStore store = ImageStore.open(home)) {
            store.importArchive(layout);
        }
    }
}
