package dev.coffer.layer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every image we write passes e2fsck, every tree verifies with veritysetup, and veritysetup's own
 * tree has the same root. The rich tar exercises every entry kind a layer can hold.
 */
class CrossCheckTest {
    static final long T = 1700000000L;

    @TempDir
    Path tmp;

    static byte[] richTar() {
        Random rnd = new Random(42);
        byte[] big = new byte[3 * 1024 * 1024 + 123];
        rnd.nextBytes(big);
        byte[] sparse = new byte[2 * 1024 * 1024];
        for (int i = 0; i < sparse.length; i += 65536) sparse[i] = 1;
        String longDir = "deep/" + "d".repeat(90) + "/" + "e".repeat(90);
        String longName = "n".repeat(200);
        Map<String, String> xattrs = new LinkedHashMap<>();
        xattrs.put("SCHILY.xattr.user.comment", "hello");
        // security.capability with a byte >= 0x80: raw bytes must survive untouched
        xattrs.put("SCHILY.xattr.security.capability",
                new String(new byte[] {1, 0, 0, 2, (byte) 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                        StandardCharsets.ISO_8859_1));
        Map<String, String> bigXattr = new LinkedHashMap<>();
        bigXattr.put("SCHILY.xattr.user.big", "v".repeat(300)); // too big for the inode: goes to a block
        bigXattr.put("SCHILY.xattr.user.small", "s");
        Map<String, String> paxLong = new LinkedHashMap<>();
        paxLong.put("path", longDir + "/" + longName);
        paxLong.put("mtime", "1700000000.123456789");
        paxLong.put("uid", "100000");
        paxLong.put("gid", "200000");

        TarBuilder b = new TarBuilder()
                .dir("./", 0755, T)
                .dir("bin", 0755, T)
                .file("bin/sh", 0755, T, big)
                .entry("bin/ping", '0', 04755, T, 0, 0, "", "ping".getBytes(StandardCharsets.UTF_8), xattrs)
                .symlink("bin/bash", "sh", T)
                .symlink("bin/far", "/usr/lib/" + "x".repeat(80) + "/target", T)
                .hardlink("bin/sh2", "bin/sh", T)
                .hardlink("bin/bash2", "bin/bash", T)
                .file("usr/lib/nested/deeper/file.txt", 0644, T, "missing parents are created\n")
                .file("var/sparse.img", 0600, T, sparse)
                .entry("var/xattrs", '5', 0750, T, 1000, 1000, "", new byte[0], bigXattr)
                .entry("ignored", '0', 0644, T, 0, 0, "", new byte[0], paxLong)
                .device("dev/null", '3', 1, 3)
                .device("dev/sda", '4', 8, 0)
                .device("dev/bigminor", '3', 4, 300)
                .entry("run/fifo", '6', 0644, T, 0, 0, "", new byte[0], Map.of())
                .dir("etc", 0755, T)
                .file("etc/.wh..wh..opq", 0644, T, "")
                .file("etc/.wh.passwd", 0644, T, "")
                .file(".wh.tmp", 0644, T, "")
                .file("etc/hosts", 0644, T, "")
                .file("etc/hosts", 0600, T + 1, "127.0.0.1 localhost\n") // a later entry replaces it
                .dir("etc", 0700, T + 2);             // directory re-declared: updated in place
        for (int i = 0; i < 300; i++) {
            b.file("many/f" + i, 0644, T, "file " + i + "\n"); // a multi-block directory
        }
        return b.build();
    }

    @Test
    void richTarPassesE2fsckAndReadsBackWithDebugfs() throws Exception {
        byte[] tar = richTar();
        LayerDisk disk = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(tar), tmp.resolve("rich.disk"));
        Path image = extractImage(disk);
        Tools.e2fsck(image);

        assertTrue(Tools.debugfs(image, "cat /usr/lib/nested/deeper/file.txt").contains("missing parents are created"));
        String sh = Tools.debugfs(image, "stat /bin/sh");
        assertTrue(sh.contains("Links: 2"), sh);
        String sh2 = Tools.debugfs(image, "stat /bin/sh2");
        assertEquals(inode(sh), inode(sh2), "hard links share the inode");
        assertTrue(Tools.debugfs(image, "stat /bin/bash").contains("Fast link dest: \"sh\""));
        String far = Tools.debugfs(image, "stat /bin/far");
        assertTrue(far.contains("Type: symlink"), far);
        assertTrue(Tools.debugfs(image, "stat /dev/null").contains("Device major/minor number: 01:03"));
        assertTrue(Tools.debugfs(image, "stat /dev/bigminor").contains("Type: character special"));
        assertTrue(Tools.debugfs(image, "stat /dev/sda").contains("Type: block special"));
        assertTrue(Tools.debugfs(image, "stat /run/fifo").contains("Type: FIFO"));
        String pw = Tools.debugfs(image, "stat /etc/passwd");
        assertTrue(pw.contains("Type: character special") && pw.contains("00:00"), "whiteout is a 0:0 char device: " + pw);
        assertTrue(Tools.debugfs(image, "stat /tmp").contains("Type: character special"));
        assertTrue(Tools.debugfs(image, "ea_list /etc").contains("trusted.overlay.opaque"), "opaque dir xattr");
        String etc = Tools.debugfs(image, "stat /etc");
        assertTrue(etc.contains("Mode:  0700"), etc);
        String ping = Tools.debugfs(image, "ea_list /bin/ping");
        assertTrue(ping.contains("user.comment") && ping.contains("security.capability"), ping);
        assertTrue(Tools.debugfs(image, "stat /bin/ping").contains("Mode:  04755"));
        String xat = Tools.debugfs(image, "ea_list /var/xattrs");
        assertTrue(xat.contains("user.big") && xat.contains("user.small"), xat);
        String deep = Tools.debugfs(image, "stat \"/deep/" + "d".repeat(90) + "/" + "e".repeat(90) + "/" + "n".repeat(200) + "\"");
        assertTrue(deep.contains("User: 100000") && deep.contains("Group: 200000"), deep);
        assertTrue(Tools.debugfs(image, "ls -l /many").contains("f299"));
        assertTrue(Tools.debugfs(image, "cat /etc/hosts").contains("localhost"), "the later etc/hosts entry wins");
        assertTrue(Tools.debugfs(image, "stat /etc/hosts").contains("Mode:  0600"));

        // File contents survive byte for byte.
        Path dumped = tmp.resolve("sh.out");
        Tools.debugfs(image, "dump /bin/sh " + dumped);
        byte[] expected = new byte[3 * 1024 * 1024 + 123];
        new Random(42).nextBytes(expected);
        assertTrue(java.util.Arrays.equals(expected, Files.readAllBytes(dumped)), "bin/sh content");

        assertEquals(disk.rootHash(), new LayerHasher(tmp).rootHash(new ByteArrayInputStream(tar)).rootHash(),
                "hash-only and disk-building paths agree");
    }

    @Test
    void rootHashEqualsVeritysetupFormatAndDiskVerifies() throws Exception {
        for (byte[] tar : List.of(GoldenVectorsTest.v1(), GoldenVectorsTest.v4(), richTar())) {
            Path diskFile = tmp.resolve("d" + tar.length + ".disk");
            LayerDisk disk = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(tar), diskFile);
            Path image = extractImage(disk);
            assertTrue(Files.size(image) / 4096 >= 2, "at least two data blocks");
            String theirs = Tools.veritysetupFormat(image, tmp.resolve("hash" + tar.length));
            assertEquals(theirs, disk.rootHash(), "veritysetup format root hash");

            Tools.Run verify = Tools.run(List.of(Tools.tool("veritysetup"), "verify", diskFile.toString(),
                    diskFile.toString(), disk.rootHash(), "--hash-offset=" + disk.hashOffset()));
            assertEquals(0, verify.exit(), verify.output());
        }
    }

    /**
     * An opaque marker on a directory whose xattrs live in a block rewrites that block after it
     * was hashed (the data in between is larger than the hashing buffer) or while it is still
     * buffered: both paths must leave the tree equal to veritysetup's over the final image.
     */
    @Test
    void rewrittenXattrBlockIsRehashed() throws Exception {
        for (int filler : new int[] {3 << 20, 10_000}) {
            byte[] data = new byte[filler];
            new Random(7).nextBytes(data);
            byte[] tar = new TarBuilder()
                    .entry("d", '5', 0755, T, 0, 0, "", new byte[0], Map.of("SCHILY.xattr.user.big", "b".repeat(500)))
                    .file("d/data", 0644, T, data)
                    .file("d/.wh..wh..opq", 0644, T, "")
                    .build();
            Path diskFile = tmp.resolve("x" + filler + ".disk");
            LayerDisk disk = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(tar), diskFile);
            Path image = extractImage(disk);
            Tools.e2fsck(image);
            String ea = Tools.debugfs(image, "ea_list /d");
            assertTrue(ea.contains("user.big") && ea.contains("trusted.overlay.opaque"), ea);
            assertEquals(Tools.veritysetupFormat(image, tmp.resolve("x" + filler + ".hash")), disk.rootHash());
            assertEquals(disk.rootHash(), new LayerHasher(tmp).rootHash(new ByteArrayInputStream(tar)).rootHash());
        }
    }

    @Test
    void veritysetupRejectsATamperedDisk() throws Exception {
        Path diskFile = tmp.resolve("t.disk");
        LayerDisk disk = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(richTar()), diskFile);
        try (FileChannel ch = FileChannel.open(diskFile, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x55}), 12 * 4096 + 7);
        }
        Tools.Run verify = Tools.run(List.of(Tools.tool("veritysetup"), "verify", diskFile.toString(),
                diskFile.toString(), disk.rootHash(), "--hash-offset=" + disk.hashOffset()));
        assertNotEquals(0, verify.exit(), "a flipped data byte must fail verification");
    }

    @Test
    void userSpaceVerificationAcceptsTheDiskAndCatchesTampering() throws Exception {
        Path diskFile = tmp.resolve("u.disk");
        LayerDisk disk = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(richTar()), diskFile);
        assertEquals(disk.dataSize(), new LayerHasher(tmp).verifyDisk(diskFile, disk.rootHash()).dataSize());

        InvalidLayerException wrongPin = org.junit.jupiter.api.Assertions.assertThrows(InvalidLayerException.class,
                () -> new LayerHasher(tmp).verifyDisk(diskFile, "0".repeat(64)));
        assertTrue(wrongPin.getMessage().contains("not the pinned layer"), wrongPin.getMessage());

        try (FileChannel ch = FileChannel.open(diskFile, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0x55}), 12 * 4096 + 7);
        }
        InvalidLayerException altered = org.junit.jupiter.api.Assertions.assertThrows(InvalidLayerException.class,
                () -> new LayerHasher(tmp).verifyDisk(diskFile, disk.rootHash()));
        assertTrue(altered.getMessage().contains("altered"), altered.getMessage());
    }

    /** Azure's converter (through Go's tar reader) turns a global PAX header into an empty file. */
    @Test
    void globalPaxHeaderBecomesAnEmptyFileAndHardLinksMayTargetSymlinks() throws Exception {
        byte[] rec = "14 comment=xy\n".getBytes(StandardCharsets.US_ASCII);
        byte[] g = TarBuilder.header("pax_global_header", 'g', 0644, 0, 0, 0, "", rec.length);
        TarBuilder.checksum(g);
        byte[] tar = new TarBuilder().raw(g).raw(java.util.Arrays.copyOf(rec, 512))
                .symlink("s", "target", T)
                .hardlink("s2", "s", T)
                .build();
        LayerDisk disk = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(tar), tmp.resolve("g.disk"));
        Path image = extractImage(disk);
        Tools.e2fsck(image);
        String stat = Tools.debugfs(image, "stat /pax_global_header");
        assertTrue(stat.contains("Type: regular") && stat.contains("Size: 0"), stat);
        assertEquals(inode(Tools.debugfs(image, "stat /s")), inode(Tools.debugfs(image, "stat /s2")));
    }

    @Test
    void compressedInputsGiveTheSameHash() throws Exception {
        byte[] tar = richTar();
        String plain = new LayerHasher(tmp).rootHash(new ByteArrayInputStream(tar)).rootHash();
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (var out = new java.util.zip.GZIPOutputStream(gz)) {
            out.write(tar);
        }
        ByteArrayOutputStream zs = new ByteArrayOutputStream();
        try (var out = new io.airlift.compress.zstd.ZstdOutputStream(zs)) {
            out.write(tar);
        }
        for (byte[] blob : List.of(gz.toByteArray(), zs.toByteArray())) {
            try (InputStream in = new ByteArrayInputStream(blob)) {
                LayerHash h = new LayerHasher(tmp).rootHash(in, true);
                assertEquals(plain, h.rootHash());
                assertEquals("sha256:" + java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(tar)), h.diffId());
            }
        }
    }

    /**
     * Layer files are read through a memory mapping that also serves the compression sniffer's
     * mark/reset; streams that cannot mark get a buffer instead. Every way in gives one hash.
     */
    @Test
    void layerFilesHashLikeStreamsWhateverTheirCompression() throws Exception {
        byte[] tar = richTar();
        String plain = new LayerHasher(tmp).rootHash(new ByteArrayInputStream(tar)).rootHash();
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (var out = new java.util.zip.GZIPOutputStream(gz)) {
            out.write(tar);
        }
        ByteArrayOutputStream zs = new ByteArrayOutputStream();
        try (var out = new io.airlift.compress.zstd.ZstdOutputStream(zs)) {
            out.write(tar);
        }
        String diffId = "sha256:" + java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(tar));
        int i = 0;
        for (byte[] blob : List.of(tar, gz.toByteArray(), zs.toByteArray())) {
            Path file = tmp.resolve("layer" + i++);
            Files.write(file, blob);
            assertEquals(plain, new LayerHasher(tmp).rootHash(file).rootHash(), file.toString());
            LayerDisk disk = new LayerHasher(tmp).buildDisk(file, tmp.resolve(file.getFileName() + ".disk"));
            assertEquals(plain, disk.rootHash());
            assertEquals(diffId, disk.diffId());
            try (InputStream noMark = new java.io.FilterInputStream(new ByteArrayInputStream(blob)) {
                @Override
                public boolean markSupported() {
                    return false;
                }
            }) {
                assertEquals(plain, new LayerHasher(tmp).rootHash(noMark).rootHash());
            }
        }
    }

    static String inode(String stat) {
        return stat.substring(stat.indexOf("Inode:"), stat.indexOf("Type:")).trim();
    }

    /** The ext4 image part of a disk, as its own file for e2fsck / veritysetup format. */
    Path extractImage(LayerDisk disk) throws Exception {
        Path image = tmp.resolve(disk.file().getFileName() + ".ext4");
        try (FileChannel in = FileChannel.open(disk.file());
             FileChannel out = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            long done = 0;
            while (done < disk.dataSize()) done += in.transferTo(done, disk.dataSize() - done, out);
        }
        return image;
    }
}
