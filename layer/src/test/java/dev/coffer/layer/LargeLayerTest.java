package dev.coffer.layer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sizes that change the layout: files with an extent tree, images with several block groups. */
class LargeLayerTest {
    @TempDir
    Path tmp;

    @Test
    void fileOfSixHundredMegabytesGetsAnExtentTreeAndSeveralGroups() throws Exception {
        long size = 600L << 20; // 5 extents of 32768 blocks: more than the inode holds
        Path diskFile = tmp.resolve("big.disk");
        LayerDisk disk = new LayerHasher(tmp).buildDisk(new GeneratedTar(1, size, false), diskFile);
        Path image = tmp.resolve("big.ext4");
        try (FileChannel in = FileChannel.open(diskFile);
             FileChannel out = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            long done = 0;
            while (done < disk.dataSize()) done += in.transferTo(done, disk.dataSize() - done, out);
        }
        Tools.e2fsck(image);
        String stat = Tools.debugfs(image, "stat /data/dir0/file0");
        assertTrue(stat.contains("Size: " + size), stat);
        assertTrue(stat.contains("(ETB0)"), "an extent tree block: " + stat);
        String stats = Tools.debugfs(image, "stats");
        assertTrue(stats.contains("Group  4:"), "several block groups: " + stats.lines().filter(l -> l.startsWith("Group")).count());

        assertEquals(Tools.veritysetupFormat(image, tmp.resolve("big.hash")), disk.rootHash());
        Tools.Run verify = Tools.run(List.of(Tools.tool("veritysetup"), "verify", diskFile.toString(),
                diskFile.toString(), disk.rootHash(), "--hash-offset=" + disk.hashOffset()));
        assertEquals(0, verify.exit(), verify.output());
        Files.delete(image);
        Files.delete(diskFile);
    }

    /** Entry point for the bounded-memory check, run in a JVM limited to 256 MB of heap. */
    public static void main(String[] args) throws Exception {
        int files = Integer.parseInt(args[0]);
        long fileSize = Long.parseLong(args[1]);
        LayerHash h = new LayerHasher(Path.of(args[2])).rootHash(new GeneratedTar(files, fileSize, false));
        System.out.println("ROOT " + h.rootHash() + " " + h.imageSize());
    }

    @Test
    void twoGigabyteLayerHashesWithin256MegabytesOfHeap() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), LargeLayerTest.class.getName(),
                "2048", String.valueOf(1L << 20), tmp.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(600, TimeUnit.SECONDS), "finished");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("ROOT "), out);
        long imageSize = Long.parseLong(out.substring(out.indexOf("ROOT ")).trim().split(" ")[2]);
        assertTrue(imageSize > (2L << 30), "a 2 GiB image: " + imageSize);
    }
}
