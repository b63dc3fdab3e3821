package dev.coffer.runtime.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VmlinuxExtractorTest {
    @TempDir
    Path tmp;

    static byte[] xz(byte[] data) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (XZOutputStream x = new XZOutputStream(out, new LZMA2Options())) {
            x.write(data);
        }
        return out.toByteArray();
    }

    /** A bzImage-like file: setup bytes, a decoy xz magic, the xz stream of an ELF, trailing bytes. */
    @Test
    void findsTheElfStreamPastDecoysAndIgnoresTrailingBytes() throws Exception {
        byte[] elf = new byte[100_000];
        elf[0] = 0x7F;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        for (int i = 4; i < elf.length; i++) elf[i] = (byte) (i * 31);
        ByteArrayOutputStream image = new ByteArrayOutputStream();
        image.write(new byte[4096]);
        image.write(new byte[] {(byte) 0xFD, '7', 'z', 'X', 'Z', 0, 1, 2, 3}); // a false match
        image.write(xz("not an elf".getBytes()));                             // a real stream, not ELF
        image.write(xz(elf));
        image.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        Path vmlinuz = tmp.resolve("vmlinuz");
        Files.write(vmlinuz, image.toByteArray());
        Path out = tmp.resolve("vmlinux");
        VmlinuxExtractor.extract(vmlinuz, out);
        assertArrayEquals(elf, Files.readAllBytes(out));
    }

    @Test
    void noXzStreamIsReported() throws Exception {
        Path vmlinuz = tmp.resolve("vmlinuz");
        Files.write(vmlinuz, new byte[10_000]);
        GuestBuildException e = assertThrows(GuestBuildException.class, () -> VmlinuxExtractor.extract(vmlinuz, tmp.resolve("o")));
        assertTrue(e.getMessage().contains("xz"), e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("o")) && Files.notExists(tmp.resolve("o.tmp")));
    }

    @Test
    void aTruncatedStreamIsReported() throws Exception {
        byte[] elf = new byte[50_000];
        elf[0] = 0x7F;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        byte[] stream = xz(elf);
        Path vmlinuz = tmp.resolve("vmlinuz");
        Files.write(vmlinuz, java.util.Arrays.copyOf(stream, stream.length / 2));
        assertThrows(GuestBuildException.class, () -> VmlinuxExtractor.extract(vmlinuz, tmp.resolve("o")));
    }
}
