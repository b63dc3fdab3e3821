package dev.coffer.agent;

import dev.coffer.layer.LayerDisk;
import dev.coffer.layer.LayerHasher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A minimal root file system from Debian's busybox-static: the layer the agent tests run. */
final class BusyboxRootfs {
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "nc", "httpd", "wget", "ls", "id",
            "env", "pwd", "touch", "mkdir", "test", "true", "false", "kill", "ps", "grep", "printf", "hostname", "ip");

    private BusyboxRootfs() {}

    static Path busybox() {
        for (String p : List.of("/bin/busybox", "/usr/bin/busybox")) {
            if (Files.isExecutable(Path.of(p))) return Path.of(p);
        }
        throw new IllegalStateException("expected busybox-static at /bin/busybox, found none; apt-get install -y busybox-static");
    }

    /**
     * The busybox root file system as a layer disk (ext4 + dm-verity), built by the layer module
     * from a tar of the tree: what the host runtime sends in mount_device.
     */
    static LayerDisk disk(Path workDir) throws IOException, InterruptedException {
        Path tree = create(Files.createDirectories(workDir.resolve("busybox")));
        Path tar = workDir.resolve("busybox.tar");
        Process p = new ProcessBuilder("tar", "--format=pax", "--numeric-owner", "-C", tree.toString(), "-cf", tar.toString(), ".")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IOException("tar failed: " + out);
        return new LayerHasher(workDir).buildDisk(tar, workDir.resolve("busybox.disk"));
    }

    static Path create(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        Files.copy(busybox(), dir.resolve("bin/busybox"));
        for (String applet : APPLETS) {
            Files.createSymbolicLink(dir.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        for (String d : List.of("proc", "sys", "dev", "tmp", "etc", "www")) {
            Files.createDirectories(dir.resolve(d));
        }
        Files.writeString(dir.resolve("etc/passwd"), "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
        Files.writeString(dir.resolve("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
        Files.writeString(dir.resolve("www/index.html"), "hello from the server\n");
        return dir;
    }
}
