package dev.coffer.agent;

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
