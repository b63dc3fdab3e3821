package dev.coffer.agent.volume;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** With the real cryptsetup, losetup, mkfs.ext4 and mount. */
class EncryptedVolumeTest {
    @TempDir
    Path dir;

    static byte[] key() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return k;
    }

    static void requireDmCrypt() {
        String reason = EncryptedVolume.unavailableReason();
        if (reason != null) System.out.println("SKIPPED (kernel): " + reason);
        Assumptions.assumeTrue(reason == null, reason);
    }

    @Test
    void headerIsLuks2AesXtsWith4KiBSectorsAndLightPbkdf2() throws Exception {
        Path vol = dir.resolve("v.img");
        byte[] key = key();
        EncryptedVolume.create(vol, 40L << 20, key, VolumeIntegrity.NONE);
        assertEquals(40L << 20, Files.size(vol));
        EncryptedVolume.Info info = EncryptedVolume.inspect(vol);
        assertEquals(2, info.version());
        assertEquals("aes-xts-plain64", info.cipher());
        assertEquals(4096, info.sectorSize());
        assertEquals("pbkdf2", info.pbkdf());
        String dump = Tool.require(List.of("cryptsetup", "luksDump", vol.toString()), null, 60, "dump").out();
        assertTrue(dump.contains("Version:       \t2") || dump.matches("(?s).*Version:\\s+2.*"), dump);
        assertTrue(dump.contains("aes-xts-plain64"), dump);
        assertTrue(dump.matches("(?s).*sector:\\s+4096 \\[bytes\\].*"), dump);
        assertTrue(dump.matches("(?s).*Iterations:\\s+1000\\b.*"), dump);
        assertTrue(dump.contains("512 bits"), dump);
        EncryptedVolume.checkKey(vol, key);
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(vol)));
    }

    /** The file system inside, decrypted with the volume key cryptsetup reports, is a clean ext4. */
    @Test
    void dataSegmentHoldsACleanExt4UnderTheStoredVolumeKey() throws Exception {
        Path vol = dir.resolve("fs.img");
        byte[] key = key();
        EncryptedVolume.create(vol, 32L << 20, key, VolumeIntegrity.NONE);
        String dump = Tool.require(List.of("cryptsetup", "luksDump", "--dump-volume-key", "--batch-mode", "--key-file=-", vol.toString()),
                key, 60, "dump volume key").out();
        String hex = dump.substring(dump.indexOf("MK dump:") + 8).replaceAll("[^0-9a-fA-F:\\s]", "")
                .split("\\n\\S")[0].replaceAll("[\\s:]", "");
        byte[] volumeKey = HexFormat.of().parseHex(hex.substring(0, 128));
        EncryptedVolume.Info info = EncryptedVolume.inspect(vol);
        Path plain = dir.resolve("plain.ext4");
        long dataSize = Files.size(vol) - info.dataOffset();
        Xts xts = new Xts(volumeKey, false);
        try (FileChannel in = FileChannel.open(vol); FileChannel out = FileChannel.open(plain, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[4096];
            for (long pos = 0; pos < dataSize; pos += 4096) {
                ByteBuffer bb = ByteBuffer.wrap(buf);
                while (bb.hasRemaining()) in.read(bb, info.dataOffset() + pos + bb.position());
                xts.unit(buf, 0, 4096, pos / 512);
                out.write(ByteBuffer.wrap(buf), pos);
            }
        }
        Tool.Result fsck = Tool.run(List.of("e2fsck", "-fn", plain.toString()), null, 120);
        assertEquals(0, fsck.exit(), fsck.out() + fsck.err());
        String label = Tool.require(List.of("dumpe2fs", "-h", plain.toString()), null, 60, "dumpe2fs").out();
        assertTrue(label.matches("(?s).*Filesystem volume name:\\s+coffer.*"), label);
        assertTrue(label.matches("(?s).*Block size:\\s+4096.*"), label);
    }

    @Test
    void wrongKeyFailsPreciselyAndNeverEchoesKeys() throws Exception {
        Path vol = dir.resolve("w.img");
        byte[] key = key();
        EncryptedVolume.create(vol, 32L << 20, key, VolumeIntegrity.NONE);
        byte[] wrong = key();
        VolumeException e = assertThrows(VolumeException.class, () -> EncryptedVolume.checkKey(vol, wrong));
        assertEquals(VolumeException.Reason.WRONG_KEY, e.reason());
        assertTrue(e.getMessage().contains("no LUKS2 keyslot accepts it"), e.getMessage());
        VolumeException open = assertThrows(VolumeException.class, () -> EncryptedVolume.open(vol, wrong, "coffer-test-wrong", dir.resolve("mnt"), false, VolumeIntegrity.NONE, null));
        assertEquals(VolumeException.Reason.WRONG_KEY, open.reason());
        for (VolumeException x : List.of(e, open)) {
            assertFalse(x.getMessage().contains(HexFormat.of().formatHex(wrong)));
            assertFalse(x.getMessage().contains(new String(wrong, StandardCharsets.ISO_8859_1)));
        }
    }

    @Test
    void badArgumentsChangeNothing() throws Exception {
        Path existing = dir.resolve("existing.img");
        Files.writeString(existing, "precious");
        VolumeException exists = assertThrows(VolumeException.class, () -> EncryptedVolume.create(existing, 64L << 20, key(), VolumeIntegrity.NONE));
        assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
        assertEquals("precious", Files.readString(existing));

        Path small = dir.resolve("small.img");
        VolumeException tooSmall = assertThrows(VolumeException.class, () -> EncryptedVolume.create(small, 1 << 20, key(), VolumeIntegrity.NONE));
        assertTrue(tooSmall.getMessage().contains("between 32 MiB"), tooSmall.getMessage());
        assertFalse(Files.exists(small));

        VolumeException shortKey = assertThrows(VolumeException.class, () -> EncryptedVolume.create(dir.resolve("k.img"), 64L << 20, new byte[4], VolumeIntegrity.NONE));
        assertTrue(shortKey.getMessage().contains("found 4 bytes"), shortKey.getMessage());
        assertFalse(Files.exists(dir.resolve("k.img")));

        VolumeException noDir = assertThrows(VolumeException.class, () -> EncryptedVolume.create(dir.resolve("nope/v.img"), 64L << 20, key(), VolumeIntegrity.NONE));
        assertTrue(noDir.getMessage().contains("does not exist"), noDir.getMessage());

        VolumeException notLuks = assertThrows(VolumeException.class, () -> EncryptedVolume.checkKey(existing, key()));
        assertEquals(VolumeException.Reason.INVALID, notLuks.reason());
        assertTrue(notLuks.getMessage().contains("not a LUKS2 volume"), notLuks.getMessage());

        VolumeException badName = assertThrows(VolumeException.class, () -> EncryptedVolume.open(existing, key(), "../x", dir.resolve("m"), false, VolumeIntegrity.NONE, null));
        assertTrue(badName.getMessage().contains("mapper name"), badName.getMessage());
    }

    @Test
    void openWithoutDmCryptSaysWhy() throws Exception {
        String reason = EncryptedVolume.unavailableReason();
        Assumptions.assumeTrue(reason != null, "this host has dm-crypt; the refusal path is not reachable");
        Path vol = dir.resolve("n.img");
        byte[] key = key();
        EncryptedVolume.create(vol, 32L << 20, key, VolumeIntegrity.NONE);
        VolumeException e = assertThrows(VolumeException.class, () -> EncryptedVolume.open(vol, key, "coffer-test-n", dir.resolve("mnt"), false, VolumeIntegrity.NONE, Luks2Header.read(vol).digest()));
        assertEquals(VolumeException.Reason.UNSUPPORTED, e.reason());
        assertTrue(e.getMessage().contains("dm-crypt is unavailable") || e.getMessage().contains("loop"), e.getMessage());
    }

    @Test
    void dataWrittenInOneOpenIsReadAfterReopen() throws Exception {
        requireDmCrypt();
        Path vol = dir.resolve("rw.img");
        byte[] key = key();
        EncryptedVolume.create(vol, 64L << 20, key, VolumeIntegrity.NONE);
        Path mnt = dir.resolve("mnt");
        try (EncryptedVolume.Opened v = EncryptedVolume.open(vol, key, "coffer-test-rw", mnt, false, VolumeIntegrity.NONE, Luks2Header.read(vol).digest())) {
            Files.writeString(mnt.resolve("secret.txt"), "kept across opens\n");
        }
        assertFalse(Files.exists(mnt.resolve("secret.txt")), "unmounted after close");
        try (EncryptedVolume.Opened v = EncryptedVolume.open(vol, key, "coffer-test-ro", mnt, true, VolumeIntegrity.NONE, Luks2Header.read(vol).digest())) {
            assertEquals("kept across opens\n", Files.readString(mnt.resolve("secret.txt")));
            assertThrows(java.io.IOException.class, () -> Files.writeString(mnt.resolve("other.txt"), "x"));
        }
        // Stock cryptsetup opens it as well.
        Tool.require(List.of("cryptsetup", "open", "--type", "luks2", "--key-file=-", "--readonly", vol.toString(), "coffer-test-stock"), key, 60, "open");
        Tool.require(List.of("cryptsetup", "close", "coffer-test-stock"), null, 60, "close");
    }

    /** Without device-mapper an authenticated volume cannot be made: a precise error, and no file is left behind. */
    @Test
    void authenticatedVolumesNeedDeviceMapperToBeMade() {
        String reason = EncryptedVolume.unavailableReason();
        Assumptions.assumeTrue(reason != null, "this host has device-mapper; see authenticatedVolumeDetectsAFlippedSector");
        Path vol = dir.resolve("a.img");
        VolumeException e = assertThrows(VolumeException.class, () -> EncryptedVolume.create(vol, 32L << 20, key(), VolumeIntegrity.HMAC_SHA256));
        assertEquals(VolumeException.Reason.UNSUPPORTED, e.reason());
        assertTrue(e.getMessage().contains("authenticated volume (integrity hmac-sha256) needs device-mapper"), e.getMessage());
        assertTrue(e.getMessage().contains("integrity none"), e.getMessage());
        assertFalse(Files.exists(vol));
    }

    /**
     * With device-mapper: an authenticated volume opens with its pinned header, and a sector
     * flipped on the host's disk fails to read (EIO) instead of returning other data.
     */
    @Test
    void authenticatedVolumeDetectsAFlippedSector() throws Exception {
        requireDmCrypt();
        Path vol = dir.resolve("auth.img");
        byte[] key = key();
        EncryptedVolume.create(vol, 64L << 20, key, VolumeIntegrity.HMAC_SHA256);
        Luks2Header header = Luks2Header.read(vol);
        header.requireCofferShape(VolumeIntegrity.HMAC_SHA256, null);
        assertEquals("hmac(sha256)", header.integrityType());
        Path mnt = dir.resolve("amnt");
        try (EncryptedVolume.Opened v = EncryptedVolume.open(vol, key, "coffer-test-auth", mnt, false, VolumeIntegrity.HMAC_SHA256, header.digest())) {
            Files.write(mnt.resolve("big.bin"), new byte[8 << 20]);
        }
        // plain XTS is refused for it: the policy's integrity mode is part of the expected shape
        VolumeException plain = assertThrows(VolumeException.class,
                () -> EncryptedVolume.open(vol, key, "coffer-test-auth2", mnt, false, VolumeIntegrity.NONE, header.digest()));
        assertTrue(plain.getMessage().contains("segments.0"), plain.getMessage());
        // flip one byte in every 1 MiB of the data area: some land in file data or metadata
        try (FileChannel ch = FileChannel.open(vol, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (long pos = Luks2Header.DATA_OFFSET + (4 << 20); pos < Files.size(vol) - 4096; pos += 1 << 20) {
                ByteBuffer b = ByteBuffer.allocate(1);
                ch.read(b, pos);
                b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
                ch.write(b, pos);
            }
        }
        Tool.Result read = Tool.run(List.of("cryptsetup", "open", "--type", "luks2", "--key-file=-", "--readonly", vol.toString(), "coffer-test-flip"), key, 60);
        assertTrue(read.ok(), read.detail());
        try {
            Tool.Result dd = Tool.run(List.of("dd", "if=/dev/mapper/coffer-test-flip", "of=/dev/null", "bs=1M", "iflag=direct"), null, 120);
            assertFalse(dd.ok(), "reading a volume with flipped sectors must fail");
            assertTrue(dd.detail().contains("Input/output error"), dd.detail());
        } finally {
            Tool.run(List.of("cryptsetup", "close", "coffer-test-flip"), null, 60);
        }
    }
}
