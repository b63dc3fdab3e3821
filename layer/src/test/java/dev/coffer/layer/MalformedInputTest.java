package dev.coffer.layer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad layers fail with a message that says what is wrong, and leave no file behind. */
class MalformedInputTest {
    @TempDir
    Path tmp;

    /** Builds the disk, expects failure, checks the message and that the directory is still empty. */
    String rejects(byte[] layer, String... expectedFragments) throws Exception {
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        InvalidLayerException e = assertThrows(InvalidLayerException.class,
                () -> new LayerHasher(out).buildDisk(new ByteArrayInputStream(layer), out.resolve("layer.disk")));
        for (String f : expectedFragments) {
            assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' should contain '" + f + "'");
        }
        assertFalse(e.getMessage().contains("\n"), "one-line message");
        try (Stream<Path> left = Files.list(out)) {
            assertEquals(0, left.count(), "no disk, partial file or scratch file may remain");
        }
        assertThrows(InvalidLayerException.class,
                () -> new LayerHasher(out).rootHash(new ByteArrayInputStream(layer)));
        try (Stream<Path> left = Files.list(out)) {
            assertEquals(0, left.count(), "hashing leaves no scratch file behind");
        }
        return e.getMessage();
    }

    static byte[] goodTar() {
        return new TarBuilder().dir("a", 0755, 1).file("a/f", 0644, 1, "x".repeat(5000)).build();
    }

    @Test
    void truncatedInsideFileData() throws Exception {
        byte[] tar = goodTar();
        rejects(Arrays.copyOf(tar, 512 * 3 + 100), "truncated", "a/f", "bytes of data missing");
    }

    @Test
    void truncatedInsideAHeader() throws Exception {
        rejects(Arrays.copyOf(goodTar(), 512 + 200), "truncated", "header at byte 512");
    }

    @Test
    void notATarAtAll() throws Exception {
        byte[] junk = "this is certainly not a tar archive ".repeat(40).getBytes(StandardCharsets.US_ASCII);
        rejects(junk, "bad checksum", "byte 0");
    }

    @Test
    void corruptedHeaderChecksum() throws Exception {
        byte[] tar = goodTar();
        tar[512 + 10] ^= 1; // flips a byte of the second header's name
        rejects(tar, "bad checksum", "byte 512");
    }

    @Test
    void zeroBlockFollowedByData() throws Exception {
        byte[] tar = new TarBuilder().raw(new byte[512]).raw(TarBuilderHeaders.valid("x")).build();
        rejects(tar, "zero block");
    }

    @Test
    void truncatedGzip() throws Exception {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (var out = new java.util.zip.GZIPOutputStream(gz)) {
            out.write(goodTar());
        }
        byte[] cut = Arrays.copyOf(gz.toByteArray(), gz.size() / 2);
        rejects(cut, "gzip", "corrupt or truncated");
    }

    @Test
    void corruptZstd() throws Exception {
        ByteArrayOutputStream zs = new ByteArrayOutputStream();
        try (var out = new io.airlift.compress.zstd.ZstdOutputStream(zs)) {
            out.write(goodTar());
        }
        byte[] bad = zs.toByteArray();
        for (int i = 8; i < bad.length - 4; i++) bad[i] ^= 0x5a;
        rejects(bad, "zstd", "corrupt or truncated");
    }

    @Test
    void unsupportedCompression() throws Exception {
        rejects("BZh91AY&SY".getBytes(StandardCharsets.US_ASCII), "bzip2", "expected a plain, gzip or zstd tar");
    }

    @Test
    void malformedPaxRecord() throws Exception {
        byte[] body = "99 path=x\n".getBytes(StandardCharsets.US_ASCII);
        byte[] h = TarBuilder.header("pax", 'x', 0644, 0, 0, 0, "", body.length);
        TarBuilder.checksum(h);
        byte[] tar = new TarBuilder().raw(h).raw(Arrays.copyOf(body, 512)).file("f", 0644, 0, "y").build();
        rejects(tar, "PAX header", "record length");
    }

    @Test
    void hugePaxRecordIsRefused() throws Exception {
        byte[] h = TarBuilder.header("pax", 'x', 0644, 0, 0, 0, "", 5L << 20);
        TarBuilder.checksum(h);
        rejects(new TarBuilder().raw(h).raw(new byte[1024]).build(), "1 MiB");
    }

    @Test
    void sparseFilesAreRefused() throws Exception {
        byte[] h = TarBuilder.header("s", 'S', 0644, 0, 0, 0, "", 0);
        TarBuilder.checksum(h);
        rejects(new TarBuilder().raw(h).build(), "sparse");
    }

    @Test
    void negativeSize() throws Exception {
        byte[] h = TarBuilder.header("neg", '0', 0644, 0, 0, 0, "", 0);
        Arrays.fill(h, 124, 136, (byte) 0xff); // base-256 -1
        TarBuilder.checksum(h);
        rejects(new TarBuilder().raw(h).build(), "negative size");
    }

    @Test
    void rewritingAFileThatHasDataIsRefused() throws Exception {
        // Azure's converter refuses this too; a layer that does it cannot get an Azure-compatible hash.
        byte[] tar = new TarBuilder().file("f", 0644, 0, "one").file("f", 0644, 0, "two").build();
        rejects(tar, "'f'", "cannot overwrite");
    }

    @Test
    void hardLinkToAMissingFile() throws Exception {
        rejects(new TarBuilder().hardlink("l", "nowhere", 0).build(), "'nowhere'", "not found");
    }

    @Test
    void hardLinkToADirectory() throws Exception {
        rejects(new TarBuilder().dir("d", 0755, 0).hardlink("l", "d", 0).build(), "directory");
    }

    @Test
    void fileReplacedByDirectory() throws Exception {
        rejects(new TarBuilder().file("x", 0644, 0, "").dir("x", 0755, 0).build(), "cannot replace a file with a directory");
    }

    @Test
    void fileUnderAFile() throws Exception {
        rejects(new TarBuilder().file("x", 0644, 0, "").file("x/y", 0644, 0, "").build(), "parent directory not found");
    }

    @Test
    void nameLongerThan255Bytes() throws Exception {
        byte[] tar = new TarBuilder().entry("ignored", '0', 0644, 0, 0, 0, "", new byte[0],
                Map.of("path", "d/" + "n".repeat(256))).build();
        rejects(tar, "255");
    }

    @Test
    void diffIdMismatchWritesNothing() throws Exception {
        Path out = tmp.resolve("out2");
        Files.createDirectories(out);
        String wrong = "sha256:" + "0".repeat(64);
        InvalidLayerException e = assertThrows(InvalidLayerException.class, () -> new LayerHasher(out)
                .buildDisk(new ByteArrayInputStream(goodTar()), out.resolve("d.disk"), wrong));
        assertTrue(e.getMessage().contains(wrong) && e.getMessage().contains("altered"), e.getMessage());
        try (Stream<Path> left = Files.list(out)) {
            assertEquals(0, left.count());
        }
    }

    @Test
    void missingTrailerIsAcceptedLikeAzure() throws Exception {
        // Go's tar reader ends quietly at EOF on a header boundary; Azure hashes such layers.
        byte[] with = goodTar();
        byte[] without = new TarBuilder().dir("a", 0755, 1).file("a/f", 0644, 1, "x".repeat(5000)).buildWithoutTrailer();
        assertEquals(new LayerHasher(tmp).rootHash(new ByteArrayInputStream(with)).rootHash(),
                new LayerHasher(tmp).rootHash(new ByteArrayInputStream(without)).rootHash());
    }

    /** A single valid header block for raw composition. */
    static final class TarBuilderHeaders {
        static byte[] valid(String name) {
            byte[] h = TarBuilder.header(name, '0', 0644, 0, 0, 0, "", 0);
            TarBuilder.checksum(h);
            return h;
        }
    }
}
