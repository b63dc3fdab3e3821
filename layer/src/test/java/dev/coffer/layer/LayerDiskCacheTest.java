package dev.coffer.layer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerDiskCacheTest {
    @TempDir
    Path tmp;

    static String diffId(byte[] tar) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tar));
    }

    @Test
    void secondBuildIsAHitAndDoesNotReadTheLayer() throws Exception {
        byte[] tar = CrossCheckTest.richTar();
        String id = diffId(tar);
        LayerDiskCache cache = new LayerDiskCache(tmp.resolve("layers"));
        AtomicInteger opened = new AtomicInteger();
        LayerDisk first = cache.getOrBuild(id, () -> {
            opened.incrementAndGet();
            return new ByteArrayInputStream(tar);
        });
        LayerDisk second = cache.getOrBuild(id, () -> {
            opened.incrementAndGet();
            return new ByteArrayInputStream(tar);
        });
        assertEquals(1, opened.get(), "the second call is served from the cache");
        assertEquals(first.rootHash(), second.rootHash());
        assertEquals(first.dataSize(), second.dataSize());
        assertEquals(first.file(), second.file());
        assertEquals(new LayerHasher(tmp).rootHash(new ByteArrayInputStream(tar)).rootHash(), second.rootHash());
        assertTrue(first.file().getFileName().toString().equals("sha256-" + id.substring(7) + ".disk"));
    }

    @Test
    void concurrentBuildersOfOneLayerProduceOneIntactDisk() throws Exception {
        byte[] tar = CrossCheckTest.richTar();
        String id = diffId(tar);
        Path dir = tmp.resolve("layers");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<LayerDisk>> results = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            results.add(pool.submit(() -> new LayerDiskCache(dir).getOrBuild(id, () -> new ByteArrayInputStream(tar))));
        }
        pool.shutdown();
        assertTrue(pool.awaitTermination(120, TimeUnit.SECONDS));
        String root = results.getFirst().get().rootHash();
        for (Future<LayerDisk> f : results) assertEquals(root, f.get().rootHash());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("sha256-" + id.substring(7) + ".disk"),
                    files.map(p -> p.getFileName().toString()).toList(), "no temporary files left");
        }
        LayerDisk disk = new LayerDiskCache(dir).lookup(id).orElseThrow();
        Tools.Run verify = Tools.run(List.of(Tools.tool("veritysetup"), "verify", disk.file().toString(),
                disk.file().toString(), disk.rootHash(), "--hash-offset=" + disk.hashOffset()));
        assertEquals(0, verify.exit(), verify.output());
    }

    @Test
    void buildsAreByteForByteReproducible() throws Exception {
        byte[] tar = CrossCheckTest.richTar();
        LayerDisk a = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(tar), tmp.resolve("a.disk"));
        LayerDisk b = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(tar), tmp.resolve("b.disk"));
        assertArrayEquals(Files.readAllBytes(a.file()), Files.readAllBytes(b.file()));
    }

    @Test
    void buildWithoutKnownDiffIdIsStoredUnderItsDiffId() throws Exception {
        byte[] tar = GoldenVectorsTest.v4();
        LayerDiskCache cache = new LayerDiskCache(tmp.resolve("layers"));
        LayerDisk built = cache.build(new ByteArrayInputStream(tar));
        assertEquals(diffId(tar), built.diffId());
        assertEquals(built.rootHash(), cache.lookup(diffId(tar)).orElseThrow().rootHash());
        assertEquals(GoldenVectorsTest.vector("v4").root(), built.rootHash());
    }

    @Test
    void damagedEntryIsAMissAndGetsRebuilt() throws Exception {
        byte[] tar = GoldenVectorsTest.v2();
        String id = diffId(tar);
        LayerDiskCache cache = new LayerDiskCache(tmp.resolve("layers"));
        LayerDisk disk = cache.getOrBuild(id, () -> new ByteArrayInputStream(tar));
        try (FileChannel ch = FileChannel.open(disk.file(), StandardOpenOption.WRITE)) {
            ch.truncate(disk.dataSize() + 4096); // lose the tree
        }
        assertTrue(cache.lookup(id).isEmpty());
        LayerDisk again = cache.getOrBuild(id, () -> new ByteArrayInputStream(tar));
        assertEquals(disk.rootHash(), again.rootHash());
        assertTrue(cache.lookup(id).isPresent());
    }

    @Test
    void wrongContentForADiffIdIsRefusedAndNotCached() throws Exception {
        String claimed = diffId(GoldenVectorsTest.v2());
        LayerDiskCache cache = new LayerDiskCache(tmp.resolve("layers"));
        InvalidLayerException e = assertThrows(InvalidLayerException.class,
                () -> cache.getOrBuild(claimed, () -> new ByteArrayInputStream(GoldenVectorsTest.v4())));
        assertTrue(e.getMessage().contains(claimed), e.getMessage());
        assertTrue(cache.lookup(claimed).isEmpty());
    }

    @Test
    void hostileDiffIdsCannotEscapeTheDirectory() {
        LayerDiskCache cache = new LayerDiskCache(tmp.resolve("layers"));
        for (String bad : List.of("../../etc/passwd", "sha256:../x", "sha256:" + "A".repeat(64), "md5:00", "")) {
            assertThrows(IllegalArgumentException.class, () -> cache.pathFor(bad), bad);
        }
    }
}
