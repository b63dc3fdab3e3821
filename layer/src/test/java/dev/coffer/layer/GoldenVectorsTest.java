package dev.coffer.layer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden values of shared/testdata/layer-hash/VECTORS.md, computed by Azure's converter. */
class GoldenVectorsTest {
    static final long T = 1700000000L;

    @TempDir
    Path tmp;

    static Path shared() {
        String p = System.getProperty("coffer.shared");
        return p != null ? Path.of(p) : Path.of("../../shared");
    }

    record Vector(String root, long size, String imageSha) {}

    /** Reads the expected values from the vectors file itself, so the test cannot drift from it. */
    static Vector vector(String id) throws Exception {
        String md = Files.readString(shared().resolve("testdata/layer-hash/VECTORS.md"));
        Matcher m = Pattern.compile("\\| " + id + " \\|[^|]*\\| `([0-9a-f]{64})` \\| (\\d+) \\| `([0-9a-f]{64})` \\|")
                .matcher(md);
        assertTrue(m.find(), "vector " + id + " not found in VECTORS.md");
        return new Vector(m.group(1), Long.parseLong(m.group(2)), m.group(3));
    }

    static byte[] v1() {
        return new TarBuilder().build();
    }

    static byte[] v2() {
        return new TarBuilder().file("hello.txt", 0644, 0, "hello\n").build();
    }

    static byte[] v4() {
        return new TarBuilder()
                .dir("etc", 0755, T)
                .file("etc/.wh..wh..opq", 0644, T, "")
                .file(".wh.removed", 0644, T, "")
                .file("etc/new", 0644, T, "x")
                .build();
    }

    void check(String id, byte[] tar) throws Exception {
        Vector v = vector(id);
        LayerHash h = new LayerHasher(tmp).rootHash(new ByteArrayInputStream(tar));
        assertEquals(v.root(), h.rootHash(), id + " root hash");
        assertEquals(v.size(), h.imageSize(), id + " image size");

        LayerDisk disk = new LayerHasher(tmp).buildDisk(new ByteArrayInputStream(tar), tmp.resolve(id + ".disk"));
        assertEquals(v.root(), disk.rootHash(), id + " disk root hash");
        assertEquals(v.size(), disk.dataSize());
        byte[] all = Files.readAllBytes(disk.file());
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(all, 0, (int) disk.dataSize());
        assertEquals(v.imageSha(), HexFormat.of().formatHex(sha.digest()), id + " image SHA-256");

        Path image = tmp.resolve(id + ".ext4");
        Files.write(image, java.util.Arrays.copyOf(all, (int) disk.dataSize()));
        Tools.e2fsck(image);
    }

    @Test
    void v1EmptyTar() throws Exception {
        check("v1", v1());
    }

    @Test
    void v2SingleFile() throws Exception {
        check("v2", v2());
    }

    @Test
    void v4WhiteoutsAndOpaqueDirectory() throws Exception {
        check("v4", v4());
    }
}
