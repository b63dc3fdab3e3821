package dev.coffer.oci.store;

import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.reference.ImageReference;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

class ImageStoreTest {
    @TempDir
    Path tmp;

    static ImageBuilder sample(String marker) {
        return new ImageBuilder()
                .layer(new TarLayer().dir("bin").file("bin/hello", "#!/bin/sh\necho " + marker + "\n", 0755)
                        .symlink("bin/hi", "hello"))
                .layer(new TarLayer().dir("etc").file("etc/motd", marker, 0644).whiteout("bin/hi"))
                .config(ImageConfig.of(List.of("/bin/hello")).withEnv(List.of("A=1", "PATH=/bin"))
                        .withWorkingDir("/etc").withUser("1000:1000").withExposedPorts(List.of("8080/tcp"))
                        .withLabels(Map.of("org.example", "yes")));
    }

    static List<String> tarNames(InputStream in) throws IOException {
        List<String> names = new ArrayList<>();
        TarArchiveInputStream tin = new TarArchiveInputStream(in);
        TarArchiveEntry e;
        while ((e = tin.getNextEntry()) != null) names.add(e.getName());
        return names;
    }

    @Test
    void importsLayoutDirectoryAndReadsLayersBack() throws IOException {
        Path layout = sample("one").writeLayout(tmp.resolve("layout"), "coffer.local/sample:1");
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage img = store.importArchive(layout);
            assertEquals("coffer.local/sample:1", img.reference().toString());
            assertEquals(2, img.layers().size());
            assertEquals(List.of("/bin/hello"), img.config().cmd());
            assertEquals("/etc", img.config().workingDir());
            assertEquals("1000:1000", img.config().user());
            assertEquals(List.of("8080/tcp"), img.config().exposedPorts());
            assertEquals("yes", img.config().labels().get("org.example"));
            assertEquals(img, store.resolve("coffer.local/sample:1"));
            assertEquals(img, store.resolve(img.manifestDigest().hex().substring(0, 8)));
            assertEquals(img.manifestDigest(), store.resolve("coffer.local/sample@" + img.manifestDigest()).manifestDigest());
            try (InputStream in = store.openLayer(img.layers().get(0))) {
                assertEquals(List.of("bin/", "bin/hello", "bin/hi"), tarNames(in));
            }
            try (InputStream in = store.openLayer(img.layers().get(1))) {
                assertEquals(List.of("etc/", "etc/motd", "bin/.wh.hi"), tarNames(in));
            }
            assertTrue(Files.isRegularFile(store.blobPath(img.configDigest())));
            assertEquals(List.of(img), store.list());
        }
    }

    @Test
    void importsLayoutTarDockerArchiveAndZstd() throws IOException {
        Path tar = sample("two").compression(ImageBuilder.Compression.ZSTD)
                .writeLayoutTar(tmp.resolve("img.tar"), "coffer.local/zstd:latest");
        Path docker = sample("three").writeDockerArchive(tmp.resolve("docker.tar"), "busybox-like:2");
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage z = store.importArchive(tar);
            try (InputStream in = store.openLayer(z.layers().get(1))) {
                assertTrue(tarNames(in).contains("etc/motd"));
            }
            LocalImage d = store.importArchive(docker);
            assertEquals("docker.io/library/busybox-like:2", d.reference().toString());
            assertEquals(d, store.resolve("busybox-like:2"));
            try (InputStream in = store.openLayer(d.layers().get(0))) {
                assertEquals(List.of("bin/", "bin/hello", "bin/hi"), tarNames(in));
            }
            assertEquals(2, store.list().size());
            assertTrue(Files.list(tmp.resolve("home/oci/tmp")).findAny().isEmpty(), "scratch directories removed");
        }
    }

    @Test
    void multiPlatformLayoutPicksLinuxAmd64() throws IOException {
        ImageBuilder arm = sample("arm").config(ImageConfig.of(List.of("/arm")).withPlatform("linux", "arm64"));
        ImageBuilder amd = sample("amd").config(ImageConfig.of(List.of("/amd")));
        Path layout = ImageBuilder.writeMultiPlatformLayout(tmp.resolve("multi"), "coffer.local/multi:1", List.of(arm, amd));
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage img = store.importArchive(layout);
            assertEquals(List.of("/amd"), img.config().cmd());
            assertEquals("amd64", img.config().architecture());
            assertEquals(amd.build().manifestDigest(), img.manifestDigest());
        }
        Path armOnly = ImageBuilder.writeMultiPlatformLayout(tmp.resolve("armonly"), "coffer.local/arm:1", List.of(arm));
        try (ImageStore store = ImageStore.open(tmp.resolve("home2"))) {
            OciException e = assertThrows(OciException.class, () -> store.importArchive(armOnly));
            assertTrue(e.getMessage().contains("no manifest for linux/amd64"), e.getMessage());
            assertTrue(e.getMessage().contains("linux/arm64"), e.getMessage());
            assertTrue(store.list().isEmpty());
            assertTrue(store.blobs().all().isEmpty(), "no blobs left behind: " + store.blobs().all());
        }
    }

    @Test
    void tamperedLayerIsRefusedOnRead() throws IOException {
        Path layout = sample("t").compression(ImageBuilder.Compression.NONE).writeLayout(tmp.resolve("l"), "coffer.local/t:1");
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage img = store.importArchive(layout);
            LayerBlob layer = img.layers().get(1);
            Path blob = store.blobPath(layer.digest());
            // Flip one byte of the file content inside the tar: same size, same structure.
            byte[] bytes = Files.readAllBytes(blob);
            int at = new String(bytes, StandardCharsets.ISO_8859_1).indexOf("\u0000t", 1024) ;
            try (RandomAccessFile f = new RandomAccessFile(blob.toFile(), "rw")) {
                int pos = new String(bytes, StandardCharsets.ISO_8859_1).lastIndexOf('t', bytes.length - 1);
                f.seek(pos >= 0 ? pos : at);
                f.write('X');
            }
            BlobTamperedException e = assertThrows(BlobTamperedException.class, () -> {
                try (InputStream in = store.openLayer(layer)) {
                    tarNames(in);
                }
            });
            assertTrue(e.getMessage().contains("tampered"), e.getMessage());
            assertTrue(e.getMessage().contains(layer.digest().toString()), e.getMessage());
            assertFalse(store.blobs().verify(layer.digest()));
        }
    }

    @Test
    void tamperedCompressedLayerAndConfigAreRefused() throws IOException {
        Path layout = sample("g").writeLayout(tmp.resolve("l"), "coffer.local/g:1");
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage img = store.importArchive(layout);
            LayerBlob layer = img.layers().get(0);
            Path blob = store.blobPath(layer.digest());
            try (RandomAccessFile f = new RandomAccessFile(blob.toFile(), "rw")) {
                f.seek(20);
                int b = f.read();
                f.seek(20);
                f.write(b ^ 0xff);
            }
            BlobTamperedException e = assertThrows(BlobTamperedException.class, () -> {
                try (InputStream in = store.openLayer(layer)) {
                    in.readAllBytes();
                }
            });
            assertTrue(e.getMessage().contains("tampered"), e.getMessage());
            // Truncated blob: refused before a byte is used.
            Files.write(blob, new byte[10]);
            assertThrows(BlobTamperedException.class, () -> store.openLayer(layer).close());
            // Tampered config: resolving the image fails with the digest named.
            Files.writeString(store.blobPath(img.configDigest()), "{\"config\":{}}");
            BlobTamperedException c = assertThrows(BlobTamperedException.class, () -> store.resolve("coffer.local/g:1"));
            assertTrue(c.getMessage().contains(img.configDigest().toString()), c.getMessage());
            // ...and can still be removed.
            store.remove("coffer.local/g:1");
            assertTrue(store.list().isEmpty());
        }
    }

    @Test
    void removeDeletesOnlyUnsharedBlobs() throws IOException {
        Path a = sample("same").writeLayout(tmp.resolve("a"), "coffer.local/a:1");
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage one = store.importArchive(a);
            LocalImage two = store.importArchive(a, ImageReference.parse("coffer.local/b:1"), null);
            assertEquals(one.manifestDigest(), two.manifestDigest());
            store.remove("coffer.local/a:1");
            assertTrue(store.blobs().has(one.layers().get(0).digest()), "still used by b");
            assertEquals(two.manifestDigest(), store.resolve("coffer.local/b:1").manifestDigest());
            store.remove(two.id());
            assertTrue(store.blobs().all().isEmpty());
            ImageNotFoundException e = assertThrows(ImageNotFoundException.class, () -> store.resolve("coffer.local/b:1"));
            assertTrue(e.getMessage().contains("coffer image import"), e.getMessage());
            assertThrows(ImageNotFoundException.class, () -> store.remove("coffer.local/b:1"));
        }
    }

    @Test
    void malformedArchivesChangeNothing() throws IOException {
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            Path empty = Files.createDirectories(tmp.resolve("empty"));
            assertTrue(assertThrows(OciException.class, () -> store.importArchive(empty)).getMessage()
                    .contains("expected an OCI image layout"));
            Path junk = Files.writeString(tmp.resolve("junk.tar"), "this is not a tar archive at all, not even close".repeat(20));
            OciException e = assertThrows(OciException.class, () -> store.importArchive(junk));
            assertTrue(e.getMessage().contains("tar"), e.getMessage());
            assertThrows(OciException.class, () -> store.importArchive(tmp.resolve("missing.tar")));

            // A layout whose layer blob was altered after it was written.
            Path layout = sample("x").writeLayout(tmp.resolve("bad"), "coffer.local/bad:1");
            LocalImage built;
            try (ImageStore other = ImageStore.open(tmp.resolve("other"))) {
                built = other.importArchive(layout);
            }
            Path layerFile = layout.resolve("blobs/sha256/" + built.layers().get(1).digest().hex());
            byte[] bytes = Files.readAllBytes(layerFile);
            bytes[bytes.length / 2] ^= 1;
            Files.write(layerFile, bytes);
            BlobTamperedException t = assertThrows(BlobTamperedException.class, () -> store.importArchive(layout));
            assertTrue(t.getMessage().contains(built.layers().get(1).digest().toString()), t.getMessage());
            assertTrue(store.list().isEmpty());
            assertTrue(store.blobs().all().isEmpty(), "blobs of the failed import removed: " + store.blobs().all());
            assertTrue(store.blobs().temporaryFiles().isEmpty());

            // A layout that names the image only by tag.
            Path tagOnly = sample("y").writeLayout(tmp.resolve("tagonly"), "v1");
            OciException n = assertThrows(OciException.class, () -> store.importArchive(tagOnly));
            assertTrue(n.getMessage().contains("--name"), n.getMessage());
            LocalImage named = store.importArchive(tagOnly, ImageReference.parse("coffer.local/y:v1"), ProgressListener.NONE);
            assertEquals("coffer.local/y:v1", named.reference().toString());
        }
    }

    @Test
    void docker_archive_with_wrong_diff_id_is_refused() throws IOException {
        Path docker = sample("d").writeDockerArchive(tmp.resolve("d.tar"), "d:1");
        // Rewrite: same archive but a layer tar whose content no longer matches the config's diff id.
        Path unpacked = Files.createDirectories(tmp.resolve("d"));
        try (TarArchiveInputStream tin = new TarArchiveInputStream(Files.newInputStream(docker))) {
            TarArchiveEntry e;
            while ((e = tin.getNextEntry()) != null) {
                Path p = unpacked.resolve(e.getName());
                if (e.isDirectory()) { Files.createDirectories(p); continue; }
                Files.createDirectories(p.getParent());
                Files.copy(tin, p);
            }
        }
        Path layer = Files.walk(unpacked).filter(p -> p.getFileName().toString().equals("layer.tar")).findFirst().orElseThrow();
        byte[] b = Files.readAllBytes(layer);
        b[600] ^= 1;
        Files.write(layer, b);
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            BlobTamperedException e = assertThrows(BlobTamperedException.class, () -> store.importArchive(unpacked));
            assertTrue(e.getMessage().contains("diff id"), e.getMessage());
            assertTrue(store.list().isEmpty());
            assertTrue(store.blobs().all().isEmpty(), store.blobs().all().toString());
        }
    }

    @Test
    void concurrentImportsKeepTheIndexConsistent() throws Exception {
        List<Path> layouts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            layouts.add(sample("c" + i).writeLayout(tmp.resolve("c" + i), "coffer.local/c" + i + ":1"));
        }
        Path home = tmp.resolve("home");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<LocalImage>> futures = new ArrayList<>();
            for (Path l : layouts) {
                futures.add(pool.submit(() -> {
                    try (ImageStore store = ImageStore.open(home)) {
                        return store.importArchive(l);
                    }
                }));
            }
            for (Future<LocalImage> f : futures) f.get();
        } finally {
            pool.shutdown();
        }
        try (ImageStore store = ImageStore.open(home)) {
            assertEquals(8, store.list().size());
        }
    }

    @Test
    void concurrentProcessesKeepTheIndexConsistent() throws Exception {
        Path home = tmp.resolve("home");
        List<Process> processes = new ArrayList<>();
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int p = 0; p < 3; p++) {
            List<String> cmd = new ArrayList<>(List.of(javaBin, "-cp", System.getProperty("java.class.path"),
                    ImportProcessMain.class.getName(), home.toString()));
            for (int i = 0; i < 3; i++) {
                String name = "p" + p + "i" + i;
                cmd.add(sample(name).writeLayout(tmp.resolve(name), "coffer.local/" + name + ":1").toString());
            }
            processes.add(new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("proc" + p + ".log").toFile()).start());
        }
        for (int p = 0; p < processes.size(); p++) {
            assertTrue(processes.get(p).waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "process finished");
            assertEquals(0, processes.get(p).exitValue(), Files.readString(tmp.resolve("proc" + p + ".log")));
        }
        try (ImageStore store = ImageStore.open(home)) {
            assertEquals(9, store.list().size(), "no index update lost");
            assertTrue(store.blobs().temporaryFiles().isEmpty());
        }
    }

    @Test
    void listAllReportsBrokenImagesInsteadOfFailing() throws IOException {
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage good = store.importArchive(sample("good").writeLayout(tmp.resolve("g"), "coffer.local/good:1"));
            LocalImage bad = store.importArchive(sample("bad").writeLayout(tmp.resolve("b"), "coffer.local/bad:1"));
            Files.writeString(store.blobPath(bad.configDigest()), "{}");
            List<ImageStore.Listing> all = store.listAll();
            assertEquals(2, all.size());
            ImageStore.Listing b = all.get(0);
            assertEquals("coffer.local/bad:1", b.reference().toString());
            assertFalse(b.ok());
            assertTrue(b.problem().contains("tampered"), b.problem());
            assertEquals(good, all.get(1).image());
            assertThrows(BlobTamperedException.class, store::list);
        }
    }

    @Test
    void replacingANameDropsTheOldImagesBlobs() throws IOException {
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage v1 = store.importArchive(sample("v1").writeLayout(tmp.resolve("v1"), "coffer.local/app:latest"));
            LocalImage v2 = store.importArchive(sample("v2").writeLayout(tmp.resolve("v2"), "coffer.local/app:latest"));
            assertNotEquals(v1.manifestDigest(), v2.manifestDigest());
            assertEquals(List.of(v2), store.list());
            assertFalse(store.blobs().has(v1.manifestDigest()));
            assertFalse(store.blobs().has(v1.configDigest()));
            // Layer 0 differs (the marker is in bin/hello); both images' blobs are otherwise distinct too.
            assertFalse(store.blobs().has(v1.layers().get(0).digest()));
            java.util.Set<Digest> expected = new java.util.HashSet<>(List.of(v2.manifestDigest(), v2.configDigest(),
                    v2.layers().get(0).digest(), v2.layers().get(1).digest()));
            assertEquals(expected, new java.util.HashSet<>(store.blobs().all()));
        }
    }

    @Test
    void gzippedDockerArchiveImports() throws IOException {
        Path docker = sample("gz").writeDockerArchive(tmp.resolve("d.tar"), "coffer.local/gz:1");
        Path gz = tmp.resolve("d.tar.gz");
        try (var out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
            Files.copy(docker, out);
        }
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            assertEquals("coffer.local/gz:1", store.importArchive(gz).reference().toString());
        }
    }

    @Test
    void hostileArchiveEntriesAreRefused() throws IOException {
        for (String evil : List.of("../escape", "/abs/escape", "blobs/../../escape")) {
            Path tar = tmp.resolve("evil.tar");
            try (var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(Files.newOutputStream(tar))) {
                TarArchiveEntry e = new TarArchiveEntry(evil, true);
                e.setSize(4);
                out.putArchiveEntry(e);
                out.write("evil".getBytes(StandardCharsets.UTF_8));
                out.closeArchiveEntry();
            }
            try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
                OciException e = assertThrows(OciException.class, () -> store.importArchive(tar));
                assertTrue(e.getMessage().contains("refusing"), e.getMessage());
            }
            assertFalse(Files.exists(tmp.resolve("escape")));
            assertFalse(Files.exists(tmp.resolve("home/escape")));
        }
    }

    @Test
    void blobStorePutVerifies() throws IOException {
        BlobStore blobs = new BlobStore(tmp.resolve("b"));
        byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
        Digest d = blobs.put(data, Digest.sha256(data), "test");
        assertArrayEquals(data, blobs.readVerified(d, 100));
        assertThrows(BlobTamperedException.class, () -> blobs.put("other".getBytes(StandardCharsets.UTF_8), Digest.sha256(data.clone()).equals(d) ? Digest.sha256("x") : d, "test"));
        assertTrue(blobs.temporaryFiles().isEmpty());
        assertEquals(List.of(d), blobs.all());
    }
}
