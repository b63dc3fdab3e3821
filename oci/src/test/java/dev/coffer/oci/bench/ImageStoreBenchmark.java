package dev.coffer.oci.bench;

import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.BlobStore;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.oci.unpack.LayerUnpacker;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Throughput of the store's hot paths: storing a 16 MiB blob (hash, write, fsync, rename),
 * reading a 16 MiB gzip layer back (blob digest + gunzip + diff id), and unpacking a layer of
 * 1000 small files. Run:
 * <pre>
 * mvn -q -o -pl oci test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/tmp/cp
 * java -cp oci/target/test-classes:oci/target/classes:$(cat /tmp/cp) org.openjdk.jmh.Main ImageStoreBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class ImageStoreBenchmark {
    static final int BLOB = 16 * 1024 * 1024;

    Path dir;
    BlobStore blobs;
    byte[] blob;
    ImageStore store;
    LocalImage image;
    byte[] manyFiles;
    int unpackCount;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("coffer-bench");
        blobs = new BlobStore(dir.resolve("blobs"));
        blob = new byte[BLOB];
        new Random(1).nextBytes(blob);
        // Half random, half zeros: compresses like a typical binary layer.
        java.util.Arrays.fill(blob, BLOB / 2, BLOB, (byte) 0);
        store = ImageStore.open(dir.resolve("home"));
        Path layout = new ImageBuilder().layer(new TarLayer().file("data.bin", blob, 0644))
                .config(ImageConfig.of(List.of("/x"))).writeLayout(dir.resolve("layout"), "bench.local/big:1");
        image = store.importArchive(layout);
        TarLayer many = new TarLayer();
        for (int d = 0; d < 10; d++) {
            many.dir("d" + d);
            for (int f = 0; f < 100; f++) many.file("d" + d + "/f" + f, ("file " + d + "/" + f).repeat(20), 0644);
        }
        manyFiles = many.toTar();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        store.close();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** Store a blob not seen before (the digest check runs on the way in). */
    @Benchmark
    public Digest putBlob() throws IOException {
        blob[0]++;
        Digest d = blobs.put(blob, null, "bench");
        blobs.delete(d);
        return d;
    }

    /** Read a stored gzip layer as the runtime does: verified twice, decompressed once. */
    @Benchmark
    public long readLayer() throws IOException {
        long n = 0;
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = store.openLayer(image.layers().getFirst())) {
            int r;
            while ((r = in.read(buf)) > 0) n += r;
        }
        return n;
    }

    /** Unpack 1000 small files (create, write, chown, chmod, utimes each). */
    @Benchmark
    public Path unpackSmallFiles() throws IOException {
        Path target = dir.resolve("unpack" + (unpackCount++));
        LayerUnpacker.unpack(new java.io.ByteArrayInputStream(manyFiles), target);
        try (Stream<Path> walk = Files.walk(target)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
        return target;
    }
}
