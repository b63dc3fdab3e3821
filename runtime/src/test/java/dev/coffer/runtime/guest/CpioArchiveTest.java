package dev.coffer.runtime.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpioArchiveTest {
    @TempDir
    Path tmp;

    static byte[] write(CpioArchive a) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        a.writeTo(out);
        return out.toByteArray();
    }

    @Test
    void insertionOrderDoesNotChangeTheBytes() throws Exception {
        CpioArchive a = new CpioArchive().file("usr/bin/x", "x".getBytes(StandardCharsets.UTF_8), 0755)
                .file("etc/a", "a".getBytes(StandardCharsets.UTF_8), 0644).symlink("bin/sh", "busybox");
        CpioArchive b = new CpioArchive().symlink("bin/sh", "busybox").file("etc/a", "a".getBytes(StandardCharsets.UTF_8), 0644)
                .file("usr/bin/x", "x".getBytes(StandardCharsets.UTF_8), 0755);
        assertArrayEquals(write(a), write(b));
        assertEquals(0, write(a).length % 512);
    }

    /** GNU cpio (the reference reader) lists what we wrote, parents before children, with our modes. */
    @Test
    void gnuCpioOrBusyboxReadsTheArchive() throws Exception {
        Path archive = tmp.resolve("a.cpio");
        Files.write(archive, write(new CpioArchive().file("etc/coffer/modules", "m.ko\n".getBytes(StandardCharsets.UTF_8), 0644)
                .symlink("etc/resolv.conf", "/run/resolv.conf").charDevice("dev/console", 5, 1, 0600).file("init", new byte[0], 0755)));
        Process p = new ProcessBuilder("busybox", "cpio", "-t", "-v", "-F", archive.toString()).redirectErrorStream(true).start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), listing);
        List<String> names = new ArrayList<>();
        for (String line : listing.strip().split("\n")) names.add(line.substring(line.lastIndexOf(' ') + 1));
        assertTrue(listing.contains("crw-------"), listing);
        assertTrue(listing.contains("etc/resolv.conf -> /run/resolv.conf"), listing);
        assertTrue(names.indexOf("etc") < names.indexOf("modules") || listing.indexOf(" etc\n") < listing.indexOf("etc/coffer"), listing);
        assertTrue(listing.contains("-rwxr-xr-x"), listing);
    }

    @Test
    void hostilePathsAreRefused() {
        CpioArchive a = new CpioArchive();
        for (String bad : List.of("../etc/passwd", "a/../../b", "a//b", "", "/", "dir/")) {
            assertThrows(IllegalArgumentException.class, () -> a.file(bad, new byte[0], 0644), bad);
        }
    }

    @Test
    void onePathTwoContentsIsRefused() {
        CpioArchive a = new CpioArchive().file("x", new byte[] {1}, 0644);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.file("x", new byte[] {2}, 0644));
        assertTrue(e.getMessage().contains("added twice"), e.getMessage());
    }
}
