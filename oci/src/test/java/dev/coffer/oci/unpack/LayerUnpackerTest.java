package dev.coffer.oci.unpack;

import dev.coffer.oci.layout.TarLayer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

// Unpacking touches device nodes and fifos: a regression there blocks in open(2), so bound it.
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LayerUnpackerTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    @TempDir
    Path tmp;

    @Test
    void keepsModesOwnersAndLinks() throws IOException {
        byte[] tar = new TarLayer()
                .dir("usr").dir("usr/bin")
                .file("usr/bin/tool", "binary", 04755)
                .dir("tmp", 01777)
                .dir("ro", 0555).file("ro/inside", "x", 0444)
                .owner(1000, 1001).file("home-file", "mine", 0600).owner(0, 0)
                .symlink("bin", "usr/bin")
                .symlink("abs", "/etc/passwd")
                .hardlink("usr/bin/tool2", "usr/bin/tool")
                .toTar();
        Path dir = tmp.resolve("layer");
        LayerUnpacker.unpack(new ByteArrayInputStream(tar), dir);
        assertEquals(04755, mode(dir.resolve("usr/bin/tool")));
        assertEquals(01777, mode(dir.resolve("tmp")));
        assertEquals(0555, mode(dir.resolve("ro")));
        assertEquals("x", Files.readString(dir.resolve("ro/inside")));
        assertEquals(0600, mode(dir.resolve("home-file")));
        if ("root".equals(System.getProperty("user.name"))) {
            assertEquals(1000, Files.getAttribute(dir.resolve("home-file"), "unix:uid"));
            assertEquals(1001, Files.getAttribute(dir.resolve("home-file"), "unix:gid"));
        }
        assertEquals(Path.of("usr/bin"), Files.readSymbolicLink(dir.resolve("bin")));
        assertEquals(Path.of("/etc/passwd"), Files.readSymbolicLink(dir.resolve("abs")));
        assertEquals(2, (int) Files.getAttribute(dir.resolve("usr/bin/tool2"), "unix:nlink"));
        assertEquals("binary", Files.readString(dir.resolve("usr/bin/tool2")));
    }

    @Test
    void whiteoutsBecomeOverlayMarkers() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mknod and trusted xattrs need root");
        Path lower = tmp.resolve("lower");
        Path upper = tmp.resolve("upper");
        LayerUnpacker.unpack(new ByteArrayInputStream(new TarLayer()
                .dir("etc").file("etc/gone", "old", 0644).file("etc/kept", "k", 0644)
                .dir("data").file("data/old1", "1", 0644).toTar()), lower);
        LayerUnpacker.unpack(new ByteArrayInputStream(new TarLayer()
                .dir("etc").whiteout("etc/gone")
                .dir("data").opaque("data").file("data/new", "n", 0644).toTar()), upper);
        Path marker = upper.resolve("etc/gone");
        assertEquals(0020000, (int) Files.getAttribute(marker, "unix:mode", NOFOLLOW) & 0170000, "character device");
        assertEquals(0L, (long) Files.getAttribute(marker, "unix:rdev", NOFOLLOW));
        assertEquals("y", run("getfattr", "--absolute-names", "--only-values", "-n", "trusted.overlay.opaque", upper.resolve("data").toString()));

        // The real check: overlayfs honours them.
        Path merged = Files.createDirectories(tmp.resolve("merged"));
        Process p = new ProcessBuilder("mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=" + upper + ":" + lower, merged.toString()).redirectErrorStream(true).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        Assumptions.assumeTrue(p.exitValue() == 0, "overlayfs unavailable here");
        try {
            assertFalse(Files.exists(merged.resolve("etc/gone")));
            assertTrue(Files.exists(merged.resolve("etc/kept")));
            assertFalse(Files.exists(merged.resolve("data/old1")));
            assertTrue(Files.exists(merged.resolve("data/new")));
        } finally {
            new ProcessBuilder("umount", merged.toString()).start().waitFor(20, TimeUnit.SECONDS);
        }
    }

    @Test
    void refusesAbsoluteAndDotDotEntries() throws IOException {
        Path outside = tmp.resolve("outside");
        for (String evil : List.of("/etc/evil", "../outside", "a/../../outside", "./../outside")) {
            Path dir = Files.createDirectories(tmp.resolve("l" + Math.abs(evil.hashCode())));
            UnsafeLayerException e = assertThrows(UnsafeLayerException.class,
                    () -> LayerUnpacker.unpack(new ByteArrayInputStream(rawTar(file(evil, "pwned"))), dir.resolve("root")));
            assertTrue(e.getMessage().contains(evil), e.getMessage());
        }
        assertFalse(Files.exists(outside));
    }

    @Test
    void refusesWritingThroughSymlinks() throws IOException {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        TarArchiveEntry link = new TarArchiveEntry("escape", TarConstants.LF_SYMLINK);
        link.setLinkName(outside.toString());
        byte[] tar = rawTar(new Entry(link, null), file("escape/pwned", "x"));
        UnsafeLayerException e = assertThrows(UnsafeLayerException.class,
                () -> LayerUnpacker.unpack(new ByteArrayInputStream(tar), tmp.resolve("root")));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertFalse(Files.exists(outside.resolve("pwned")));

        // relative symlink escape, then a hard link through it
        TarArchiveEntry rel = new TarArchiveEntry("up", TarConstants.LF_SYMLINK);
        rel.setLinkName("../../..");
        TarArchiveEntry hard = new TarArchiveEntry("h", TarConstants.LF_LINK);
        hard.setLinkName("up/etc/passwd");
        assertThrows(UnsafeLayerException.class, () -> LayerUnpacker.unpack(
                new ByteArrayInputStream(rawTar(new Entry(rel, null), new Entry(hard, null))), tmp.resolve("root2")));

        TarArchiveEntry hardOut = new TarArchiveEntry("h", TarConstants.LF_LINK);
        hardOut.setLinkName("../outside/x");
        assertThrows(UnsafeLayerException.class, () -> LayerUnpacker.unpack(
                new ByteArrayInputStream(rawTar(new Entry(hardOut, null))), tmp.resolve("root3")));

        // a symlink replacing a file is replaced, not followed, by a later entry of the same name
        TarArchiveEntry over = new TarArchiveEntry("victim", TarConstants.LF_SYMLINK);
        over.setLinkName(outside.resolve("target").toString());
        Path root4 = tmp.resolve("root4");
        LayerUnpacker.unpack(new ByteArrayInputStream(rawTar(new Entry(over, null), file("victim", "inside"))), root4);
        assertEquals("inside", Files.readString(root4.resolve("victim")));
        assertFalse(Files.exists(outside.resolve("target")));
    }

    @Test
    void deviceNodesAndFifos() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mknod needs root");
        TarArchiveEntry dev = new TarArchiveEntry("null", TarConstants.LF_CHR);
        dev.setDevMajor(1);
        dev.setDevMinor(3);
        dev.setMode(0666);
        TarArchiveEntry fifo = new TarArchiveEntry("pipe", TarConstants.LF_FIFO);
        fifo.setMode(0600);
        Path root = tmp.resolve("dev");
        LayerUnpacker.unpack(new ByteArrayInputStream(rawTar(new Entry(dev, null), new Entry(fifo, null))), root);
        int mode = (int) Files.getAttribute(root.resolve("null"), "unix:mode", NOFOLLOW);
        assertEquals(0020000, mode & 0170000);
        assertEquals(0666, mode & 07777);
        assertEquals((1L << 8) | 3, (long) Files.getAttribute(root.resolve("null"), "unix:rdev", NOFOLLOW));
        assertEquals(0010000, (int) Files.getAttribute(root.resolve("pipe"), "unix:mode", NOFOLLOW) & 0170000);
    }

    @Test
    void extendedAttributes() throws Exception {
        Entry tagged = file("tagged", "x");
        tagged.header().addPaxHeader("SCHILY.xattr.user.origin", "coffer-test");
        tagged.header().addPaxHeader("SCHILY.xattr.security.selinux", "system_u:object_r:bin_t:s0");
        Path root = tmp.resolve("x");
        LayerUnpacker.unpack(new ByteArrayInputStream(rawTar(tagged)), root);
        var view = Files.getFileAttributeView(root.resolve("tagged"), java.nio.file.attribute.UserDefinedFileAttributeView.class);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(64);
        view.read("origin", buf);
        assertEquals("coffer-test", new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
        assertFalse(view.list().contains("selinux"));

        Entry forged = file("forged", "x");
        forged.header().addPaxHeader("SCHILY.xattr.trusted.overlay.redirect", "/etc");
        UnsafeLayerException e = assertThrows(UnsafeLayerException.class,
                () -> LayerUnpacker.unpack(new ByteArrayInputStream(rawTar(forged)), tmp.resolve("y")));
        assertTrue(e.getMessage().contains("trusted.overlay.redirect"), e.getMessage());
    }

    @Test
    void truncatedTarFails() {
        byte[] tar = new TarLayer().file("big", new byte[5000], 0644).toTar();
        byte[] cut = java.util.Arrays.copyOf(tar, 2000);
        assertThrows(IOException.class, () -> LayerUnpacker.unpack(new ByteArrayInputStream(cut), tmp.resolve("t")));
    }

    private record Entry(TarArchiveEntry header, byte[] content) {}

    private static Entry file(String name, String content) {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        e.setSize(b.length);
        e.setMode(0100644);
        return new Entry(e, b);
    }

    /** A tar written without commons-compress's name normalisation, as an attacker would. */
    private static byte[] rawTar(Entry... entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            for (Entry e : entries) {
                tar.putArchiveEntry(e.header());
                if (e.content() != null) tar.write(e.content());
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    private static int mode(Path p) throws IOException {
        return (int) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 07777;
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    }
}
